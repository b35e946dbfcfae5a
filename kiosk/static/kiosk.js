// The kiosk: one big button per field, a priority choice one tap away, and the
// ticket on screen (code, people ahead, wait, QR, what the printer did).
// Counts come from the server (`queue_updated`, `state`); nothing is computed here.
//
// Everything fits one screen at every kiosk size: fields that do not fit are paged
// with big buttons. A chosen priority is forgotten after each ticket and when nobody
// touched the kiosk for a while, so the next person never gets it without knowing.
//
// A citizen who booked online checks in here: "Đã đặt lịch trước" opens a keyboard of the code's
// 32 letters and digits; a USB barcode scanner reading the booking's QR types its address
// ("…/b/<token>") and Enter into the page, at any time: the kiosk looks the booking up and checks
// it in. The ticket screen is the walk-in's, marked "Đặt lịch HH:MM".
//
// Settings in the address (for the people who set the kiosk up):
//   ?ticket_seconds=N  how long the ticket stays on screen (default 20; any touch starts it again)
//   ?idle_seconds=N    after how long without a touch the start screen forgets a chosen priority (default 45)
import { api, connect, el, pairFromUrl, qrUrl, waitText, PRIORITY_NAMES } from "/static/common/api.js";
import { startClock } from "/static/common/clock.js";
import { Pager, renderIndicator } from "/static/common/pager.js";
import { bookableFields, bookedLabel, CODE_ALPHABET, CODE_LENGTH, readScan } from "/static/common/booking.js";

const params = new URLSearchParams(window.location.search);
const setting = (name, fallback) => {
  const value = Number.parseFloat(params.get(name));
  return Number.isFinite(value) && value > 0 ? value : fallback;
};
const TICKET_SECONDS = Math.round(setting("ticket_seconds", 20));
const IDLE_SECONDS = setting("idle_seconds", 45);
const PRINT_WAIT_MS = 4000;  // how long "Đang in phiếu…" may stay before the QR becomes the ticket

const $ = (id) => document.getElementById(id);
const syncClock = startClock($("clock"));

let fields = [];
let priority = null;
let busy = false;       // a ticket request is on its way: further taps are the same tap
let attempt = null;     // {field, priority, key}: one Idempotency-Key per tap, reused by its retries
let countdown = null;
let socket = null;

// ----- fields, in pages that fit the screen ----------------------------------------
const pager = new Pager($("fields"), {
  onChange: (at) => {
    $("pager").hidden = at.pages <= 1;
    renderIndicator($("page-indicator"), at);
    $("page-previous").disabled = at.page === 0;
    $("page-next").disabled = at.page === at.pages - 1;
  },
});
$("page-previous").addEventListener("click", () => pager.previous());
$("page-next").addEventListener("click", () => pager.next());

function closedReason(field) {
  if (field.cap_reached) return "Đã hết số hôm nay. Mời quay lại vào ngày làm việc tiếp theo.";
  if (!field.open_now) {
    const hours = (field.hours || []).map((span) => span.replace("-", "–")).join(", ");
    return hours ? `Ngoài giờ cấp số. Giờ cấp số: ${hours}.` : "Hiện không cấp số cho lĩnh vực này.";
  }
  return null;
}

function fieldButton(field) {
  const closed = closedReason(field);
  const status = closed
    ? el("span", { class: "field-status is-closed" }, field.cap_reached ? "Đã hết số hôm nay" : "Ngoài giờ cấp số")
    : el("span", { class: "field-status" },
      el("span", { class: "field-waiting" }, `Đang chờ: ${field.waiting} người`),
      el("span", { class: "field-wait" }, waitText(field.estimated_wait_s)));
  return el("button", {
    type: "button",
    class: closed ? "field is-closed" : "field",
    "aria-disabled": closed ? "true" : null,
    dataset: { field: field.code },
    onclick: () => take(field),
  },
  el("span", { class: "field-prefix", "aria-hidden": "true" }, field.prefix),
  el("span", { class: "field-text" },
    el("span", { class: "field-name" }, field.name),
    field.hint ? el("span", { class: "field-hint" }, field.hint) : null,
    status));
}

function renderFields() {
  const box = $("fields");
  box.replaceChildren(...fields.map(fieldButton));
  box.setAttribute("aria-busy", "false");
  if (!fields.length) box.append(el("p", { class: "fields-empty" }, "Hiện chưa có lĩnh vực nào nhận hồ sơ."));
  if (!$("start").hidden) pager.layout();
}

async function loadFields() {
  try {
    fields = (await api("/api/fields")).fields;
    renderFields();
  } catch (err) {
    showNotice(err.message);
    return;
  }
  checkBookable();
}

function onQueueUpdated(data) {
  for (const update of (data && data.fields) || []) {
    const field = fields.find((f) => f.code === update.code);
    if (field) Object.assign(field, update);
  }
  if (!busy) renderFields();
}

// ----- priority ------------------------------------------------------------------
function renderPriority() {
  const buttons = Object.entries(PRIORITY_NAMES).map(([code, name]) => el("button", {
    type: "button", class: "priority-choice", "aria-pressed": String(priority === code), dataset: { priority: code },
    onclick: () => { priority = priority === code ? null : code; renderPriority(); },
  }, el("span", { class: "priority-check", "aria-hidden": "true" }), name));
  $("priority-choices").replaceChildren(...buttons);
}

function forgetPriority() {
  if (priority === null) return;
  priority = null;
  renderPriority();
}

// Nobody touched the start screen for a while: whoever comes next starts afresh.
let idleTimer = null;
function touched() {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (!$("start").hidden) {
      forgetPriority();
      hideNotice();
      if (pager.page !== 0) pager.show(0);
    }
    if (!$("checkin").hidden && !busy) closeCheckin();  // a half-typed code is nobody's business
  }, IDLE_SECONDS * 1000);
}
document.addEventListener("pointerdown", touched, true);
document.addEventListener("keydown", touched, true);

// ----- taking a ticket ----------------------------------------------------------
function newKey() {
  // crypto.randomUUID needs a secure context; a kiosk on plain http on the LAN has getRandomValues only.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function take(field) {
  if (busy || !$("ticket").hidden) return;
  const closed = closedReason(field);
  if (closed) {
    showNotice(`${field.name}: ${closed}`);
    return;
  }
  busy = true;
  hideNotice();
  const button = document.querySelector(`.field[data-field="${field.code}"]`);
  if (button) button.classList.add("is-busy");
  if (!attempt || attempt.field !== field.code || attempt.priority !== priority) {
    attempt = { field: field.code, priority, key: newKey() };
  }
  try {
    const ticket = await api("/api/tickets", {
      method: "POST", body: { field: field.code, priority }, headers: { "Idempotency-Key": attempt.key },
    });
    attempt = null;
    forgetPriority();  // the choice was for this ticket only
    showTicket(ticket);
  } catch (err) {
    // A network failure keeps the key: tapping again retries the same request and can never make two tickets.
    if (err.status !== 0 && err.status < 500) attempt = null;  // a 5xx may follow a commit: retry the same key
    showNotice(err.message);
    if (err.status === 409) loadFields();
  } finally {
    busy = false;
    if (button) button.classList.remove("is-busy");
  }
}

// ----- what the printer did -------------------------------------------------------
// The answer to POST /api/tickets may already know ("printed", "failed", "none"), or the print
// may still be on its way ("queued", "pending", "printing"): then the kiosk follows the ticket
// and waits, a few seconds at most, for `print_status`; after that the QR is the ticket.
const PRINT_TEXT = {
  printed: "Vui lòng nhận phiếu",
  none: "Vui lòng chụp mã QR hoặc ghi nhớ số của ông/bà",
  failed: "Máy in gặp sự cố — vui lòng chụp mã QR",
  waiting: "Đang in phiếu…",
};
let printFor = null;    // {token, final}: the ticket on screen whose print we are waiting for
let printTimer = null;

function showPrint(kind) {
  const print = $("ticket-print");
  print.textContent = PRINT_TEXT[kind];
  print.dataset.status = kind;
  print.classList.toggle("is-failed", kind === "failed" || kind === "none");
  print.classList.toggle("is-waiting", kind === "waiting");
}

/** What a print status means for the citizen: printed, failed, none, or still waiting. */
function printOutcome(status, printed, lastError) {
  if (printed || status === "printed") return "printed";
  if (status === "none") return "none";
  if (status === "failed" || status === "cancelled") return "failed";
  // A first try that failed and waits for its retry: the citizen should not wait for it.
  if (lastError) return "failed";
  return "waiting";
}

function settlePrint(token, outcome) {
  if (!printFor || printFor.token !== token || printFor.final) return;
  if (outcome === "waiting") return;
  printFor.final = true;
  clearTimeout(printTimer);
  showPrint(outcome);
  // The kiosk needs nothing more about this ticket (a server without `unfollow` ignores it).
  if (socket) socket.emit("unfollow", { token });
}

function followPrint(token) {
  printFor = { token, final: false };
  showPrint("waiting");
  clearTimeout(printTimer);
  printTimer = setTimeout(() => settlePrint(token, "failed"), PRINT_WAIT_MS);
  if (!socket) return;
  socket.emit("follow", { token }, (view) => {
    const print = view && view.print;
    if (print) settlePrint(token, printOutcome(print.status, print.printed, print.last_error));
  });
}

function onPrintStatus(data) {
  if (!data || !data.token) return;
  settlePrint(data.token, printOutcome(data.status, data.printed, data.last_error));
}

// ----- the ticket on screen ------------------------------------------------------------
function showTicket(ticket) {
  $("ticket-code").textContent = ticket.code;
  $("ticket-field").textContent = ticket.field_name;
  $("ticket-priority").hidden = !ticket.priority;
  $("ticket-priority").textContent = ticket.priority ? `Ưu tiên: ${PRIORITY_NAMES[ticket.priority] || ""}` : "";
  $("ticket-booking").hidden = !ticket.booked_start;
  $("ticket-booking").textContent = bookedLabel(ticket.booked_start);
  $("ticket-ahead").textContent = ticket.ahead ? `${ticket.ahead} người` : "Không có ai";
  $("ticket-wait").textContent = waitText(ticket.estimated_wait_s);
  $("ticket-qr").src = qrUrl(ticket.token);
  const status = ticket.print_status || (ticket.printed ? "printed" : "failed");
  const outcome = printOutcome(status, ticket.printed, null);
  if (outcome === "waiting") {
    followPrint(ticket.token);
  } else {
    printFor = null;
    showPrint(outcome);
  }
  $("ticket").hidden = false;
  $("start").hidden = true;
  $("checkin").hidden = true;
  restartCountdown();
}

function restartCountdown() {
  let left = TICKET_SECONDS;
  $("ticket-countdown").textContent = `(${left})`;
  clearInterval(countdown);
  countdown = setInterval(() => {
    left -= 1;
    $("ticket-countdown").textContent = `(${Math.max(0, left)})`;
    if (left <= 0) backToStart();
  }, 1000);
}

function backToStart() {
  clearInterval(countdown);
  clearTimeout(printTimer);
  printFor = null;
  $("ticket").hidden = true;
  $("checkin").hidden = true;
  $("start").hidden = false;
  $("ticket-qr").removeAttribute("src");
  forgetPriority();
  pager.page = 0;
  loadFields();
}

// ----- check-in of a booking -------------------------------------------------------
let code = "";
let officeName = "";     // this kiosk's office, as `state` names it
let bookableFor = null;  // the field list the answer below is for

/** Does the office take bookings? Only then is "Đã đặt lịch trước" on the start screen. */
async function checkBookable() {
  // Asked again only when the fields changed (or an admin edited them: a new `state`).
  const key = JSON.stringify(fields.map((f) => [f.code, f.booking]));
  if (key === bookableFor) return;
  let books;
  try {
    books = (await bookableFields(fields)).length > 0;
  } catch (err) {
    return;  // keep what we knew
  }
  bookableFor = key;
  if ($("booked-open").hidden === books) {
    $("booked-open").hidden = !books;
    if (!$("start").hidden) pager.layout();
  }
}

function renderKeypad() {
  const keys = [...CODE_ALPHABET.slice(24), ...CODE_ALPHABET.slice(0, 24)].map((c) => el("button", {
    type: "button", class: "key", dataset: { key: c }, onclick: () => typeKey(c),
  }, c));
  keys.push(el("button", { type: "button", class: "key key-delete", id: "key-delete", onclick: deleteKey },
    el("span", { "aria-hidden": "true" }, "⌫ "), "Xoá"));
  keys.push(el("button", { type: "button", class: "key key-submit", id: "checkin-submit", onclick: () => submitCode() },
    "Xác nhận"));
  $("keypad").replaceChildren(...keys);
}

function renderCode() {
  const boxes = [];
  for (let i = 0; i < CODE_LENGTH; i += 1) {
    boxes.push(el("span", { class: `code-box${i === code.length ? " is-next" : ""}` }, code[i] || ""));
  }
  $("code-boxes").replaceChildren(...boxes);
  $("code-boxes").dataset.code = code;
  $("checkin-submit").disabled = code.length !== CODE_LENGTH || busy;
  $("key-delete").disabled = code.length === 0;
}

function openCheckin(initial = "") {
  code = initial;
  hideCheckinNotice();
  renderCode();
  $("start").hidden = true;
  $("ticket").hidden = true;
  $("checkin").hidden = false;
}

function closeCheckin() {
  code = "";
  $("checkin").hidden = true;
  if ($("ticket").hidden) {
    $("start").hidden = false;
    pager.layout();
  }
}

function typeKey(c) {
  if (busy || code.length >= CODE_LENGTH) return;
  hideCheckinNotice();
  code += c;
  renderCode();
  if (code.length === CODE_LENGTH) submitCode();  // six characters: nothing more to wait for
}

function deleteKey() {
  if (busy) return;
  hideCheckinNotice();
  code = code.slice(0, -1);
  renderCode();
}

// What to do instead, for answers that say "not now": a walk-in ticket is one tap away.
const WALK_IN = new Set(["too_early", "too_late", "booking_cancelled", "booking_not_active"]);

function showCheckinNotice(message, walkIn) {
  $("checkin-message").textContent = message;
  $("checkin-walkin").hidden = !walkIn;
  $("checkin-notice").hidden = false;
  $("checkin-notice").classList.toggle("is-walk-in", walkIn);
}
function hideCheckinNotice() { $("checkin-notice").hidden = true; }

async function submitCode(text = code) {
  if (busy) return;
  busy = true;
  $("checkin").classList.add("is-busy");
  $("checkin-submit").disabled = true;
  try {
    // A second check-in of the same code answers the same ticket: a retry can never make two.
    const ticket = await api("/api/bookings/check-in", { method: "POST", body: { code: text } });
    code = "";
    showTicket(ticket);
  } catch (err) {
    if ($("checkin").hidden) openCheckin(text);
    showCheckinNotice(err.message, WALK_IN.has(err.code));
  } finally {
    busy = false;
    $("checkin").classList.remove("is-busy");
    renderCode();
  }
}

/** A scanned booking QR (its page's address): the booking's code, then check-in. */
async function checkInScanned(scan) {
  if (scan.ticket) {
    showScanNotice("Đây là mã QR của phiếu số thứ tự. Xin mời quét mã QR trên trang đặt lịch hẹn.");
    return;
  }
  if (scan.code) {
    if ($("checkin").hidden) openCheckin(scan.code);
    else { code = scan.code; renderCode(); }
    submitCode(scan.code);
    return;
  }
  let booking;
  try {
    busy = true;
    booking = await api(`/api/bookings/${encodeURIComponent(scan.token)}`);
  } catch (err) {
    showScanNotice(err.message);
    return;
  } finally {
    busy = false;
  }
  if (officeName && booking.office_name && booking.office_name !== officeName) {
    showScanNotice(`Lịch hẹn này đặt tại ${booking.office_name}, không phải tại đây. `
      + "Xin mời ông/bà đến đúng nơi đã hẹn, hoặc lấy số thường.");
    return;
  }
  openCheckin(booking.code);
  submitCode(booking.code);
}

function showScanNotice(message) {
  if (!$("start").hidden) {
    showNotice(message);
    return;
  }
  if ($("checkin").hidden) openCheckin();  // over the previous citizen's ticket
  showCheckinNotice(message, false);
}

// A USB barcode scanner is a keyboard: it types what the QR says, then Enter. Keys typed quickly
// one after another, ending in Enter, are one scan (also typed by hand on a physical keyboard).
const SCAN_GAP_MS = 1500;
let scanned = "";
let lastKeyAt = 0;
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.altKey || event.metaKey) return;
  const now = performance.now();
  if (now - lastKeyAt > SCAN_GAP_MS) scanned = "";
  lastKeyAt = now;
  if (event.key === "Enter") {
    // Never let the scanner's Enter press a button that keeps the focus (a field: a walk-in ticket).
    event.preventDefault();
    const text = scanned;
    scanned = "";
    if (!text.trim() || busy) return;
    const scan = readScan(text);
    if (scan) checkInScanned(scan);
    else showScanNotice("Không đọc được mã. Xin mời quét lại mã QR của lịch hẹn, hoặc nhập mã đặt lịch.");
    return;
  }
  if (event.key.length === 1) {
    event.preventDefault();  // a space would press the focused button too
    if (scanned.length < 300) scanned += event.key;
  }
}, true);

$("booked-open").addEventListener("click", () => openCheckin());
$("checkin-back").addEventListener("click", closeCheckin);
$("checkin-walkin").addEventListener("click", closeCheckin);
renderKeypad();
renderCode();

// ----- notices -------------------------------------------------------------------
let noticeTimer = null;
function showNotice(text) {
  const notice = $("notice");
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(hideNotice, 8000);
}
function hideNotice() { $("notice").hidden = true; }

// ----- start ----------------------------------------------------------------------
$("ticket-done").addEventListener("click", (event) => {
  event.stopPropagation();
  backToStart();
});
// Any touch on the ticket gives the citizen the full time again (to find a phone, to scan the QR).
$("ticket").addEventListener("pointerdown", (event) => {
  if (!event.target.closest("#ticket-done")) restartCountdown();
});
renderPriority();
touched();
try {
  await pairFromUrl();
} catch (err) {
  showNotice(`Không ghép nối được máy lấy số: ${err.message}`);
}
const offline = $("offline");
socket = connect({
  // A `state` comes on every (re)connect and after an admin edits fields: refetch the buttons.
  state: (state) => {
    $("office-name").textContent = state.office.name || "";
    officeName = state.office.name || "";
    $("office-unit").textContent = state.office.unit || "";
    syncClock(state.at);
    bookableFor = null;
    loadFields();
  },
  queue_updated: onQueueUpdated,
  print_status: onPrintStatus,
  connect: () => {
    offline.hidden = true;
    if (printFor && !printFor.final) socket.emit("follow", { token: printFor.token });
  },
  disconnect: () => { offline.hidden = false; },
});
window.motcuaKiosk = { pager, settings: { ticketSeconds: TICKET_SECONDS, idleSeconds: IDLE_SECONDS } };
