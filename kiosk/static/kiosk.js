// The kiosk: one big button per field, a priority choice one tap away, and the
// ticket on screen (code, people ahead, wait, QR, print status) for ~10 s.
// Counts come from the server (`queue_updated`, `state`); nothing is computed here.
import { api, connect, el, pairFromUrl, waitText, PRIORITY_NAMES } from "/static/common/api.js";
import { startClock } from "/static/common/clock.js";

const BACK_TO_START_S = 10;
const $ = (id) => document.getElementById(id);
const syncClock = startClock($("clock"));

let fields = [];
let priority = null;
let busy = false;       // a ticket request is on its way: further taps are the same tap
let attempt = null;     // {field, priority, key}: one Idempotency-Key per tap, reused by its retries
let countdown = null;

// ----- fields --------------------------------------------------------------------
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
    showTicket(ticket);
  } catch (err) {
    // A network failure keeps the key: tapping again retries the same request and can never make two tickets.
    if (err.status !== 0) attempt = null;
    showNotice(err.message);
    if (err.status === 409) loadFields();
  } finally {
    busy = false;
    if (button) button.classList.remove("is-busy");
  }
}

function showTicket(ticket) {
  $("ticket-code").textContent = ticket.code;
  $("ticket-field").textContent = ticket.field_name;
  $("ticket-priority").hidden = !ticket.priority;
  $("ticket-priority").textContent = ticket.priority ? `Ưu tiên: ${PRIORITY_NAMES[ticket.priority]}` : "";
  $("ticket-ahead").textContent = ticket.ahead ? `${ticket.ahead} người` : "Không có ai — bạn là người tiếp theo";
  $("ticket-wait").textContent = waitText(ticket.estimated_wait_s);
  $("ticket-qr").src = `/qr/${encodeURIComponent(ticket.token)}.svg`;
  // Only a ticket that reached the printer is "on paper"; anything else (a first try that
  // failed and is being retried, an agent that did not answer) shows the QR as the ticket.
  const failed = !ticket.printed;
  const print = $("ticket-print");
  print.textContent = ticket.printed
    ? "Vui lòng nhận phiếu"
    : ticket.print_status === "none"
      ? "Vui lòng chụp mã QR hoặc ghi nhớ số của bạn"
      : "Máy in gặp sự cố — vui lòng chụp mã QR";
  print.classList.toggle("is-failed", failed);
  $("ticket").hidden = false;
  $("start").hidden = true;
  let left = BACK_TO_START_S;
  $("ticket-countdown").textContent = `(${left})`;
  clearInterval(countdown);
  countdown = setInterval(() => {
    left -= 1;
    $("ticket-countdown").textContent = `(${left})`;
    if (left <= 0) backToStart();
  }, 1000);
}

function backToStart() {
  clearInterval(countdown);
  $("ticket").hidden = true;
  $("start").hidden = false;
  $("ticket-qr").removeAttribute("src");
  priority = null;
  renderPriority();
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
$("ticket-done").addEventListener("click", backToStart);
renderPriority();
try {
  await pairFromUrl();
} catch (err) {
  showNotice(`Không ghép nối được máy lấy số: ${err.message}`);
}
const offline = $("offline");
connect({
  // A `state` comes on every (re)connect and after an admin edits fields: refetch the buttons.
  state: (state) => {
    $("office-name").textContent = state.office.name || "";
    $("office-unit").textContent = state.office.unit || "";
    syncClock(state.at);
    loadFields();
  },
  queue_updated: onQueueUpdated,
  connect: () => { offline.hidden = true; },
  disconnect: () => { offline.hidden = false; },
});
