// A booking's own page (/b/<token>, the QR of the booking): its status and what to do.
// - booked: the code big, its QR, when and where to check in, the .ics, cancel (after a confirmation);
// - checked in: the ticket's code and its place in the queue, followed live like /t/<token>;
// - missed, cancelled: say so, and offer a new booking.
// While booked, the page asks again now and then (and when the phone wakes it): a check-in at the
// kiosk turns it into the ticket without a reload.
import { api, connect, el, waitText } from "/static/common/api.js";
import { bookedLabel, hhmm, slotText } from "/static/common/booking.js";

const token = document.body.dataset.token;
const defaultOffice = document.body.dataset.defaultOffice || "";
const POLL_MS = 60_000;
const $ = (id) => document.getElementById(id);

let booking = null;
let socket = null;
let followed = null;     // the ticket token this page follows
let pollTimer = null;
let refreshTimer = null;

const TICKET = {
  waiting: (t) => [t.ahead ? `Trước ông/bà còn ${t.ahead} người` : "Ông/bà là người tiếp theo",
    `Thời gian chờ dự kiến: ${waitText(t.estimated_wait_s)}. Vui lòng có mặt ở sảnh khi gần đến lượt.`],
  called: (t) => [`Mời ông/bà đến quầy số ${t.counter}`, "Đến lượt ông/bà. Xin mời đến quầy ngay."],
  done: (t) => ["Đã tiếp nhận hồ sơ", t.counter ? `Tại quầy số ${t.counter}. Xin cảm ơn ông/bà.` : "Xin cảm ơn ông/bà."],
  no_show: (t) => ["Ông/bà đã vắng mặt khi được gọi",
    t.counter ? `Vui lòng liên hệ quầy số ${t.counter} để được gọi lại.` : "Vui lòng liên hệ cán bộ tại quầy."],
  cancelled: () => ["Phiếu đã huỷ", ""],
  expired: () => ["Phiếu đã hết hạn", "Ngày làm việc của phiếu này đã kết thúc."],
};

function bookUrl(office) {
  return !office || office === defaultOffice ? "/book" : `/o/${encodeURIComponent(office)}/book`;
}

function fact(label, value) {
  return [el("dt", {}, label), el("dd", {}, value)];
}

function setState(kind, title, text = "") {
  $("state").className = `state is-${kind}`;
  $("state-title").textContent = title;
  $("state-text").textContent = text;
}

function render(view) {
  booking = view;
  const status = view.status;
  $("office").textContent = view.office_name || "";
  $("booked").hidden = status !== "booked";
  $("ticket").hidden = !(status === "checked_in" && view.ticket);
  $("facts").hidden = false;
  $("actions").hidden = false;
  $("ics").hidden = status !== "booked";
  $("cancel").hidden = status !== "booked";
  $("book-again").hidden = !["cancelled", "missed"].includes(status);
  $("book-again").href = bookUrl(view.office);
  $("howto").hidden = status !== "booked";
  if (status !== "booked") $("confirm").hidden = true;

  $("facts").replaceChildren(
    ...fact("Mã đặt lịch", view.code),
    ...fact("Lĩnh vực", view.field_name),
    ...fact("Thời gian", slotText(view.start, view.end)),
    ...fact("Nơi đến", view.office_name),
    ...(view.name || view.phone ? fact("Người đặt", [view.name, view.phone].filter(Boolean).join(" · ")) : []),
  );

  if (status === "booked") {
    setState("booked", "Đã đặt lịch hẹn", slotText(view.start, view.end));
    $("code").textContent = view.code;
    if (!$("qr").getAttribute("src")) $("qr").src = `/b/${encodeURIComponent(token)}/qr.svg`;
    $("ics").href = `/api/bookings/${encodeURIComponent(token)}.ics`;
    $("howto").textContent = `Khi đến, xin mời ông/bà nhập mã ${view.code} (hoặc quét mã QR này) tại máy lấy số, `
      + `từ ${hhmm(view.checkin_from)} đến ${hhmm(view.checkin_until)}, để nhận số thứ tự. `
      + "Đến giờ hẹn, số của ông/bà được gọi trước.";
  } else if (status === "checked_in") {
    setState("checked_in", "Đã xác nhận lịch hẹn", "Ông/bà đã nhận số thứ tự tại máy lấy số.");
    if (view.ticket) renderTicket(view.ticket);
  } else if (status === "missed") {
    setState("missed", "Lịch hẹn đã quá giờ xác nhận",
      `Lịch hẹn lúc ${hhmm(view.start)} không được xác nhận trước ${hhmm(view.checkin_until)}. `
      + "Xin mời ông/bà lấy số thường tại máy lấy số, hoặc đặt lịch hẹn khác.");
  } else if (status === "cancelled") {
    setState("cancelled", "Lịch hẹn đã huỷ", "Chỗ của lịch hẹn này đã được trả lại. Ông/bà có thể đặt lịch hẹn khác.");
  } else {
    setState(status, status);
  }
  schedulePoll();
}

function renderTicket(ticket) {
  $("ticket-code").textContent = ticket.code;
  $("ticket-mark").textContent = bookedLabel(ticket.booked_start || booking.start);
  const [title, text] = (TICKET[ticket.status] || (() => [ticket.status, ""]))(ticket);
  $("ticket-title").textContent = title;
  $("ticket-text").textContent = text;
  $("ticket-status").className = `ticket-status is-${ticket.status}`;
  $("track").hidden = false;
  $("track").href = `/t/${encodeURIComponent(ticket.token)}`;
  follow(ticket.token);
  if (ticket.status === "called" && navigator.vibrate) navigator.vibrate([300, 150, 300]);
}

function showError(message) {
  setState("missed", message);
  for (const id of ["booked", "ticket", "facts", "howto", "actions", "confirm"]) $(id).hidden = true;
}

async function refresh() {
  try {
    render(await api(`/api/bookings/${encodeURIComponent(token)}`));
  } catch (err) {
    if (err.status === 404) showError(err.message);
    else if (!booking) showError(err.message);
  }
}

// A booked booking may be checked in at the kiosk at any moment: ask again now and then.
function schedulePoll() {
  clearTimeout(pollTimer);
  if (booking && booking.status === "booked") pollTimer = setTimeout(refresh, POLL_MS);
}
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && booking && booking.status === "booked") refresh();
});

// ----- the ticket, live ------------------------------------------------------------------
function onTicket(ticket) {
  if (!ticket || ticket.error || !booking || !booking.ticket) return;
  booking.ticket = ticket;
  renderTicket(ticket);
}

/** Someone of the ticket's field was called or came: ask for the place in the queue again. */
function queueMoved(fields) {
  const ticket = booking && booking.ticket;
  if (!ticket || ticket.status !== "waiting") return;
  if (!(fields || []).some((f) => f.code === ticket.field)) return;
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 100 + Math.random() * 400);  // a hall of phones does not ask at once
}

function follow(ticketToken) {
  if (followed === ticketToken && socket) return;
  followed = ticketToken;
  if (!window.io) return;
  if (!socket) {
    // The ticket's office: its waiting counts are the cue to ask for the place in the queue again.
    socket = connect({
      ticket_updated: onTicket,
      queue_updated: (data) => queueMoved(data && data.fields),
      // A call carries the waiting counts itself: no `queue_updated` follows it.
      ticket_called: (call) => queueMoved((call && call.fields) || (call && call.ticket ? [{ code: call.ticket.field }] : [])),
      connect: () => {
        $("offline").hidden = true;
        socket.emit("follow", { token: followed }, onTicket);
      },
      disconnect: () => { $("offline").hidden = false; },
    }, { office: booking.office || undefined });
  } else {
    socket.emit("follow", { token: ticketToken }, onTicket);
  }
}

// ----- cancel, after a confirmation ------------------------------------------------------
$("cancel").addEventListener("click", () => {
  $("confirm-text").textContent = `${booking.field_name}, ${slotText(booking.start, booking.end)}. Huỷ rồi thì chỗ này trả lại cho người khác.`;
  $("confirm").hidden = false;
  $("cancel").hidden = true;
  $("confirm-no").focus();
});
$("confirm-no").addEventListener("click", () => {
  $("confirm").hidden = true;
  $("cancel").hidden = false;
});
$("confirm-yes").addEventListener("click", async () => {
  $("confirm-yes").disabled = true;
  $("alert").hidden = true;
  try {
    render(await api(`/api/bookings/${encodeURIComponent(token)}`, { method: "DELETE" }));
  } catch (err) {
    $("alert").textContent = err.message;
    $("alert").hidden = false;
    if (err.status === 409) refresh();
  } finally {
    $("confirm-yes").disabled = false;
  }
});

refresh();
