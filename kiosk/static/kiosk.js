// The kiosk: one big button per field, a priority choice one tap away, and the
// ticket on screen (code, people ahead, wait, QR, what the printer did).
// Counts come from the server (`queue_updated`, `state`); nothing is computed here.
//
// Everything fits one screen at every kiosk size: fields that do not fit are paged
// with big buttons. A chosen priority is forgotten after each ticket and when nobody
// touched the kiosk for a while, so the next person never gets it without knowing.
//
// Settings in the address (for the people who set the kiosk up):
//   ?ticket_seconds=N  how long the ticket stays on screen (default 20; any touch starts it again)
//   ?idle_seconds=N    after how long without a touch the start screen forgets a chosen priority (default 45)
import { api, connect, el, pairFromUrl, qrUrl, waitText, PRIORITY_NAMES } from "/static/common/api.js";
import { startClock } from "/static/common/clock.js";
import { Pager, renderIndicator } from "/static/common/pager.js";

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
  }
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
  $("start").hidden = false;
  $("ticket-qr").removeAttribute("src");
  forgetPriority();
  pager.page = 0;
  loadFields();
}

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
    $("office-unit").textContent = state.office.unit || "";
    syncClock(state.at);
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
