// The clerk's console: log in, pick a counter, then call and serve tickets by
// button or keyboard. Every action is one API call; the server's answer and the
// Socket.IO events (another counter calling, a kiosk issuing) refresh the view.
// Tickets are named by their code only: the console never needs a ticket's token.
// Times are the office's: the API's ISO strings carry the office's offset, and the
// clock that times a call is corrected by the server's (`state.at`), not the PC's.
// A ticket booked online carries `booked_start` and is marked "Đặt lịch HH:MM", as priority is;
// the clerk checks such a citizen in by the booking's code (POST /api/bookings/check-in).
import { ApiError, OFFICE, api, connect, el, officeUrl, setCsrfToken } from "/static/common/api.js";

const T = JSON.parse(document.body.dataset.texts);
// The counter this PC works, remembered per office (counter 3 of one ward is not counter 3 of another).
const COUNTER_KEY = OFFICE ? `motcua.counter@${OFFICE}` : "motcua.counter";
const $ = (id) => document.getElementById(id);

let counterNumber = Number(localStorage.getItem(COUNTER_KEY)) || null;
let view = null;          // the last GET /api/counters/<n>
let fieldNames = {};      // code -> name, for the waiting list and transfer
let busy = false;         // one action at a time: a held key never calls twice
let socket = null;
let officeName = "";
let skewMs = 0;           // server clock minus this PC's clock
let justIssued = null;    // the code of a ticket this console just issued by check-in: marked in the list
let csrfToken = null;     // for the one call that needs its answer's status (check-in: 201 new, 200 again)

// ----- messages ----------------------------------------------------------------
function say(text, kind = "info") {
  const box = $("message");
  box.textContent = text;
  box.className = `message ${kind}`;
  box.hidden = !text;
}

function errorText(err) {
  return (T.errors && T.errors[err.code]) || err.message;
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

// ----- views -------------------------------------------------------------------
function show(name) {
  for (const id of ["login-view", "pick-view", "console-view"]) $(id).hidden = id !== `${name}-view`;
  const inConsole = name === "console";
  $("change-counter").hidden = !inConsole;
  $("logout").hidden = name === "login";
  $("counter-state").hidden = !inConsole;
  if (!inConsole) $("counter-title").textContent = name === "pick" ? T.pick_counter : "";
}

async function start() {
  try {
    const me = await api("/api/auth/me");
    loggedIn(me.user, me.csrf_token, me.office);
  } catch (err) {
    if (err.status === 401) return showLogin();
    say(errorText(err), "error");
  }
}

function showLogin() {
  show("login");
  $("clerk-name").textContent = "";
  $("login-form").username.focus();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const error = $("login-error");
  error.hidden = true;
  try {
    const result = await api("/api/auth/login", {
      method: "POST", body: { username: form.username.value, password: form.password.value },
    });
    form.password.value = "";
    loggedIn(result.user, result.csrf_token, result.office);
  } catch (err) {
    error.textContent = errorText(err);
    error.hidden = false;
    form.password.select();
  }
});

/** `office`: the user's own office ({slug, name}); null for a province user, who may work any office. */
function loggedIn(user, csrf, office) {
  // A clerk who logged in on another office's address lands on their own office's console. (On the
  // plain /counter/ every call already goes to the clerk's own office: the server finds it by the login.)
  if (office && OFFICE && office.slug !== OFFICE) {
    window.location.replace(`/o/${encodeURIComponent(office.slug)}/counter/`);
    return;
  }
  setCsrfToken(csrf);
  csrfToken = csrf;
  $("clerk-name").textContent = user.name || user.username;
  if (!socket) socket = connect({
    connect: () => { if (!$("message").classList.contains("error")) say(""); refresh(); },
    disconnect: () => say(T.offline, "error"),
    ticket_called: refreshSoon, counter_updated: refreshSoon, queue_updated: refreshSoon,
    state: (state) => { onState(state); refreshSoon(); },
  });
  if (counterNumber) openCounter(counterNumber);
  else pickCounter();
}

$("logout").addEventListener("click", async () => {
  try { await api("/api/auth/logout", { method: "POST" }); } catch (err) { /* logged out anyway */ }
  window.location.reload();
});

async function pickCounter() {
  show("pick");
  const list = $("counter-list");
  list.replaceChildren();
  try {
    const { counters } = await api("/api/counters");
    if (!counters.length) list.append(el("p", {}, T.no_counters));
    for (const c of counters) {
      list.append(el("button", { type: "button", class: "counter-choice", onclick: () => openCounter(c.number) },
        el("strong", {}, c.name || `${T.counter} ${c.number}`),
        el("span", { class: `state ${c.state}` }, T[`state_${c.state}`] || c.state),
        el("span", { class: "hint" }, `${T.serves}: ${c.fields.map((f) => f.name).join(", ")}`),
        c.current ? el("span", { class: "hint" }, `${T.serving}: ${c.current.code}`) : null,
        el("span", { class: "hint" }, `${T.waiting}: ${c.waiting.length}`)));
    }
    list.querySelector("button")?.focus();
  } catch (err) {
    handleError(err);
  }
}

$("change-counter").addEventListener("click", () => {
  localStorage.removeItem(COUNTER_KEY);
  counterNumber = null;
  view = null;
  pickCounter();
});

async function openCounter(number) {
  counterNumber = number;
  localStorage.setItem(COUNTER_KEY, String(number));
  show("console");
  await refresh();
}

// ----- the console -----------------------------------------------------------------
let refreshTimer = null;
function refreshSoon() {
  // A burst of events (a kiosk issuing, another counter calling) -> one fetch.
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 80);
}

async function refresh() {
  if (!counterNumber || $("console-view").hidden) return;
  try {
    render(await api(`/api/counters/${counterNumber}`));
  } catch (err) {
    if (err.code === "counter_not_found") {
      localStorage.removeItem(COUNTER_KEY);
      counterNumber = null;
      pickCounter();
    }
    handleError(err);
  }
}

function render(data) {
  view = data;
  fieldNames = Object.fromEntries(data.fields.map((f) => [f.code, f.name]));
  $("counter-title").textContent = data.name || `${T.counter} ${data.number}`;
  const state = $("counter-state");
  state.textContent = T[`state_${data.state}`] || data.state;
  state.className = `state ${data.state}`;
  $("paused-banner").hidden = data.state !== "paused";
  $("paused-banner").textContent = T.paused_banner;
  $("pause-label").textContent = data.state === "open" ? T.pause : T.resume;
  document.title = officeName ? `${data.name} — ${officeName}` : data.name;
  const open = data.state === "open";

  const current = data.current;
  $("current").classList.toggle("empty", !current);
  $("current-code").textContent = current ? current.code : T.no_ticket;
  $("current-field").textContent = current ? current.field_name : (open ? T.no_ticket_hint : T.paused_hint);
  // call_count is shown when the server sends it
  document.querySelector(".current-meta").hidden = !current;  // no timer to show without a ticket
  const calls = current && current.call_count;
  $("current-calls").textContent = calls ? String(calls) : "";
  $("current-calls").parentElement.hidden = !calls;
  const priority = $("current-priority");
  priority.hidden = !(current && current.priority);
  priority.textContent = current && current.priority ? `${T.priority}: ${T.priorities[current.priority]}` : "";
  const booked = $("current-booked");
  booked.hidden = !(current && current.booked_start);
  booked.textContent = current && current.booked_start ? bookedLabel(current.booked_start) : "";
  for (const action of ["recall", "no-show", "finish", "transfer"]) {
    document.querySelector(`[data-action="${action}"]`).disabled = !current;
  }
  // Paused (or closed): nothing to call until "Tiếp tục"; the button says so by being off.
  document.querySelector('[data-action="next"]').disabled = !open;
  document.querySelector('[data-action="call"]').disabled = !open;
  tick();

  $("served-today").textContent = String(data.served_today);
  $("waiting-count").textContent = String(data.waiting.length);
  $("waiting-fields").textContent = `${T.serves}: ${data.fields.map((f) => `${f.name} (${f.prefix})`).join(", ")}`;
  const list = $("waiting-list");
  list.replaceChildren(...data.waiting.map((t) => el("li", {
    class: [t.booked_start ? "booked" : t.priority ? "priority" : "", t.code === justIssued ? "just-issued" : ""]
      .join(" ").trim() },
    el("span", { class: "code" }, t.code),
    el("span", { class: "field" }, fieldNames[t.field] || t.field,
      t.priority ? el("span", { class: "badge priority" }, T.priorities[t.priority]) : null,
      t.booked_start ? el("span", { class: "badge booked" }, bookedLabel(t.booked_start)) : null),
    el("span", { class: "time", title: T.issued_at }, clock(t.issued_at)),
    el("button", { type: "button", class: "small", onclick: () => act("call", { code: t.code }).catch(() => {}) }, T.call_this))));
  if (!data.waiting.length) list.append(el("li", { class: "empty" }, T.nobody_waiting));

  $("no-show-count").textContent = String(data.no_shows_today.length);
  $("no-show-list").replaceChildren(...data.no_shows_today.map((code) => el("li", {},
    el("span", { class: "code" }, code),
    el("button", { type: "button", class: "small", onclick: () => act("call", { code }).catch(() => {}) }, T.call_this))));
  if (!data.no_shows_today.length) $("no-show-list").append(el("li", { class: "empty" }, T.no_no_shows));
}

/** "08:15" from "2026-11-25T08:15:00+07:00": the office's wall clock as the server wrote it, whatever this PC's zone. */
function clock(iso) {
  const match = /T(\d\d):(\d\d)/.exec(iso || "");
  return match ? `${match[1]}:${match[2]}` : "";
}

/** "Đặt lịch 09:30": a ticket booked online, with its slot's start. */
function bookedLabel(iso) {
  return fill(T.booked_at, { time: clock(iso) });
}

function onState(state) {
  if (!state) return;
  const name = (state.office && state.office.name) || "";
  if (name) {
    officeName = name;
    $("office-name").textContent = name;
    if (view) document.title = `${view.name} — ${name}`;
  }
  const serverMs = Date.parse((state && state.at) || "");
  if (!Number.isNaN(serverMs)) skewMs = serverMs - Date.now();
}

function tick() {
  const current = view && view.current;
  if (!current || !current.called_at) {
    $("current-timer").textContent = "00:00";
    return;
  }
  const seconds = Math.max(0, Math.floor((Date.now() + skewMs - Date.parse(current.called_at)) / 1000));
  const minutes = Math.floor(seconds / 60);
  $("current-timer").textContent = minutes >= 60
    ? `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`
    : `${String(minutes).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
}
setInterval(tick, 1000);

// ----- actions -----------------------------------------------------------------------
const DONE = {
  "call-next": "done_called", call: "done_called", recall: "done_recalled", "no-show": "done_no_show",
  finish: "done_finished", transfer: "done_transferred", pause: "done_paused", resume: "done_resumed",
};

async function act(endpoint, body) {
  if (busy || !counterNumber) return;
  busy = true;
  document.body.classList.add("busy");
  let result;
  try {
    result = await api(`/api/counters/${counterNumber}/${endpoint}`, { method: "POST", body });
  } catch (err) {
    handleError(err);
    refreshSoon();
    throw err;
  } finally {
    // free as soon as the server has answered: the next key press must not wait for the redraw
    busy = false;
    document.body.classList.remove("busy");
  }
  const code = result.code || (view && view.current && view.current.code) || "";
  say(fill(T[DONE[endpoint]], { code, field: fieldNames[result.field] || result.field_name || "" }), "ok");
  await refresh();
}

function handleError(err) {
  if (err.status === 401) {
    showLogin();
    return;
  }
  say(errorText(err), "error");
}

const ACTIONS = {
  next: () => act("call-next"),
  recall: () => act("recall"),
  "no-show": () => act("no-show"),
  finish: () => act("finish"),
  pause: () => act(view && view.state === "paused" ? "resume" : "pause"),
  transfer: openTransfer,
  call: openCall,
  "check-in": openCheckIn,
};

for (const button of document.querySelectorAll("[data-action]")) {
  button.addEventListener("click", () => {
    button.blur(); // so a later Space goes to the shortcut, not to this button again
    ACTIONS[button.dataset.action]().catch(() => {});
  });
}

const KEYS = {
  " ": "next", n: "next", r: "recall", v: "no-show", h: "finish", t: "transfer", p: "pause", g: "call", d: "check-in",
};

document.addEventListener("keydown", (event) => {
  if ($("console-view").hidden || event.ctrlKey || event.altKey || event.metaKey) return;
  if (document.querySelector("dialog[open]") || event.target.closest("input, textarea, select")) return;
  const action = KEYS[event.key.toLowerCase()];
  if (!action) return;
  event.preventDefault(); // Space must not also press a focused button or scroll
  if (event.repeat) return;
  const button = document.querySelector(`[data-action="${action}"]`);
  if (!button.disabled) ACTIONS[action]().catch(() => {});
  else if (action === "next" && view && view.state !== "open") say(T.paused_hint, "info");
});

// ----- transfer and call-by-number dialogs ---------------------------------------------
async function openTransfer() {
  if (!view || !view.current) return;
  const dialog = $("transfer-dialog");
  const box = $("transfer-fields");
  box.replaceChildren();
  try {
    const { fields } = await api("/api/fields");
    for (const f of fields.filter((f) => f.code !== view.current.field)) {
      box.append(el("button", { type: "button", class: "choice", onclick: async () => {
        dialog.close();
        await act("transfer", { field: f.code }).catch(() => {});
      } }, `${f.prefix} · ${f.name}`));
    }
    dialog.showModal();
    box.querySelector("button")?.focus();
  } catch (err) {
    handleError(err);
  }
}

async function openCall() {
  const dialog = $("call-dialog");
  $("call-error").hidden = true;
  $("call-code").value = "";
  dialog.showModal();
  $("call-code").focus();
}

$("call-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = $("call-code").value.trim().toUpperCase();
  if (!code) return;
  try {
    await act("call", { code });
    $("call-dialog").close();
  } catch (err) {
    // said inside the dialog, where the clerk is looking
    $("call-error").textContent = errorText(err);
    $("call-error").hidden = false;
    $("call-code").select();
  }
});
$("call-cancel").addEventListener("click", () => $("call-dialog").close());

// ----- checking in a citizen who booked online ---------------------------------------------
const CODE = /^[A-HJ-NP-Z2-9]{6}$/;  // the booking code's alphabet: no 0/O, no 1/I
const BOOKING_LINK = /\/b\/([A-Za-z0-9_-]{10,64})/;  // the booking's QR, typed by a barcode scanner

function openCheckIn() {
  $("checkin-error").hidden = true;
  $("checkin-code").value = "";
  $("checkin-dialog").showModal();
  $("checkin-code").focus();
  return Promise.resolve();
}

/** The booking's code from what was typed ("k7m2-qx ") or scanned (its page's link); null if it cannot be one. */
async function bookingCode(typed) {
  const link = BOOKING_LINK.exec(typed);
  if (link) return (await api(`/api/bookings/${encodeURIComponent(link[1])}`)).code;
  const code = typed.toUpperCase().replace(/[\s.-]/g, "");
  return CODE.test(code) ? code : null;
}

/**
 * POST /api/bookings/check-in as the clerk: {ticket, again}. `again`: checked in before, the same ticket
 * answered (200, not 201), so the console says when instead of announcing a new number. (common/api.js
 * answers the body alone, hence this one call of its own, in the same error shape.)
 */
async function checkIn(code) {
  let response;
  try {
    response = await fetch(officeUrl("/api/bookings/check-in"), {
      method: "POST", credentials: "same-origin", body: JSON.stringify({ code }), signal: AbortSignal.timeout(10000),
      headers: { "Content-Type": "application/json", ...(csrfToken ? { "X-CSRFToken": csrfToken } : {}) },
    });
  } catch (err) {
    throw new ApiError(0, "network", "Mất kết nối tới máy chủ. Vui lòng thử lại.");
  }
  const data = (response.headers.get("Content-Type") || "").includes("application/json") ? await response.json() : null;
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || "error", error.message || "Có lỗi xảy ra.");
  }
  return { ticket: data, again: response.status === 200 };
}

/** What became of the ticket's paper, as the kiosk would say it (a printer that is off never loses the ticket). */
function printNote(ticket) {
  const status = ticket.printed ? "printed" : ticket.print_status;
  if (status === "printed" || status === "none") return T.checkin_print[status];
  if (status === "failed" || status === "cancelled" || !status) return T.checkin_print.failed;
  return T.checkin_print.pending;
}

let checkingIn = false;  // a scanner's Enter, or a second press, must not send it twice
$("checkin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const typed = $("checkin-code").value.trim();
  if (!typed || checkingIn) return;
  const error = $("checkin-error");
  checkingIn = true;
  try {
    const code = await bookingCode(typed);
    if (!code) throw Object.assign(new Error(T.checkin_bad_code), { code: "bad_code" });
    const { ticket, again } = await checkIn(code);
    $("checkin-dialog").close();
    justIssued = ticket.code;
    const said = fill(again ? T.checkin_again : T.checkin_done, {
      booking: (ticket.booking && ticket.booking.code) || code, code: ticket.code, field: ticket.field_name,
      time: clock((ticket.booking && ticket.booking.start) || ticket.booked_start), issued: clock(ticket.issued_at),
    });
    say(again ? said : `${said} ${printNote(ticket)}`.trim(), again ? "info" : "ok");
    await refresh();
  } catch (err) {
    if (err.status === 401) {
      $("checkin-dialog").close();
      showLogin();
      return;
    }
    // said inside the dialog, where the clerk is looking; the API's Vietnamese says what to do instead
    error.textContent = err.code === "bad_code" ? err.message : errorText(err);
    error.hidden = false;
    $("checkin-code").select();
  } finally {
    checkingIn = false;
  }
});
$("checkin-cancel").addEventListener("click", () => $("checkin-dialog").close());

start();
