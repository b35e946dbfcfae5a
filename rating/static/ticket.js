// A ticket's own page on a phone (the QR on the ticket). It follows its ticket
// over Socket.IO (`follow`, then `ticket_updated`): place in the queue and the
// estimated wait, "Mời ông/bà đến quầy số N" when called, then the rating form once.
// A citizen is "ông/bà" everywhere they read; after service the dossier was received
// (or a result handed over), not resolved: the page never says "giải quyết xong".
import { api, connect, waitText } from "/static/common/api.js";
import { bookedLabel } from "/static/common/booking.js";
import { loadScale, ratingForm } from "./rating-form.js";

const token = document.body.dataset.token;
const $ = (id) => document.getElementById(id);
let formFor = null;   // the token the rating form is shown for, so an update does not wipe a half-filled form
let thanked = false;
let lastTicket = null;
let refreshTimer = null;

const STATUS = {
  waiting: (t) => [t.ahead ? `Trước ông/bà còn ${t.ahead} người` : "Ông/bà là người tiếp theo",
    `Thời gian chờ dự kiến: ${waitText(t.estimated_wait_s)}. Vui lòng có mặt ở sảnh khi gần đến lượt.`],
  called: (t) => [`Mời ông/bà đến quầy số ${t.counter}`, "Đến lượt ông/bà. Xin mời đến quầy ngay."],
  done: (t) => ["Đã tiếp nhận hồ sơ", t.counter ? `Tại quầy số ${t.counter}. Xin cảm ơn ông/bà.` : "Xin cảm ơn ông/bà."],
  no_show: (t) => ["Ông/bà đã vắng mặt khi được gọi",
    t.counter ? `Vui lòng liên hệ quầy số ${t.counter} để được gọi lại.` : "Vui lòng liên hệ cán bộ tại quầy."],
  cancelled: () => ["Phiếu đã huỷ", ""],
  expired: () => ["Phiếu đã hết hạn", "Ngày làm việc của phiếu này đã kết thúc. Vui lòng lấy số mới."],
};

async function render(ticket) {
  if (!ticket || ticket.error) {
    $("status-title").textContent = ticket && ticket.error ? ticket.error.message : "Không tìm thấy phiếu này.";
    $("status-text").textContent = "";
    return;
  }
  lastTicket = ticket;
  $("code").textContent = ticket.code;
  $("field").textContent = ticket.field_name;
  $("booked").hidden = !ticket.booked_start;  // a ticket of a booking made online: its slot
  $("booked").textContent = bookedLabel(ticket.booked_start);
  const [title, text] = (STATUS[ticket.status] || (() => [ticket.status, ""]))(ticket);
  $("status-title").textContent = title;
  $("status-text").textContent = text;
  $("status").className = `status is-${ticket.status}`;
  if (ticket.status === "called" && navigator.vibrate) navigator.vibrate([300, 150, 300]);

  if (ticket.status === "done" && ticket.rated) {
    $("rate").hidden = true;
    $("status-text").textContent = thanked ? "Cảm ơn ông/bà đã đánh giá!" : "Phiếu này đã được đánh giá. Xin cảm ơn!";
  } else if (ticket.status === "done" && formFor !== ticket.token) {
    formFor = ticket.token;
    const scale = await loadScale();
    ratingForm($("rate-form"), scale, ticket.token, (result) => {
      thanked = result.ok;
      $("rate").hidden = true;
      $("status-text").textContent = result.ok ? "Cảm ơn ông/bà đã đánh giá!" : result.message;
    });
    $("rate").hidden = false;
  }
}

async function refresh() {
  try {
    render(await api(`/api/tickets/${encodeURIComponent(token)}`));
  } catch (err) {
    render({ error: { message: err.message } });
  }
}

// The server tells a ticket's room only about that ticket; when someone ahead is
// called, the field's `queue_updated` (sent to everyone) is the cue to ask again. A call
// carries the waiting counts itself (`ticket_called`, with `fields`): no `queue_updated` then.
function onQueueUpdated(data) {
  if (!lastTicket || lastTicket.status !== "waiting") return;
  if (!((data && data.fields) || []).some((f) => f.code === lastTicket.field)) return;
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 100 + Math.random() * 400);  // a hall of phones does not ask at once
}

function onTicketCalled(call) {
  const fields = (call && call.fields) || (call && call.ticket ? [{ code: call.ticket.field }] : []);
  onQueueUpdated({ fields });
}

const offline = $("offline");
const socket = connect({
  ticket_updated: render,
  queue_updated: onQueueUpdated,
  ticket_called: onTicketCalled,
  // Follow again on every (re)connect: the server forgets rooms when it restarts.
  connect: () => {
    offline.hidden = true;
    socket.emit("follow", { token }, render);
  },
  disconnect: () => { offline.hidden = false; },
});
refresh();
