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

// A phone joins no office's room (`phone: 1`): it hears nothing of the hall, only its own
// ticket. When places move in its field (a call, a priority ticket, a transfer) the server tells
// it its new place (`ticket_position`), so a hall of phones never asks again after each call.
function onPosition(place) {
  if (!lastTicket || place.token !== token || lastTicket.status !== "waiting") return;
  render({ ...lastTicket, ahead: place.ahead, estimated_wait_s: place.estimated_wait_s });
}

const offline = $("offline");
const socket = connect({
  ticket_updated: render,
  ticket_position: onPosition,
  // Follow again on every (re)connect: the server forgets rooms when it restarts.
  connect: () => {
    offline.hidden = true;
    socket.emit("follow", { token }, render);
  },
  disconnect: () => { offline.hidden = false; },
}, { query: { phone: "1" } });
refresh();
