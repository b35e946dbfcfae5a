// The province's wall: every office's hall, one row each, the hall in trouble on top (the
// server's order, kept as it is). A province user logs in once; then the wall follows
// `province_updated` on the socket (joined with `?province=1`) and never needs a reload.
//
// What it adds to the server's figures is only what time does between two updates: the
// longest wait grows while nothing happens, so it is counted on from when the figures came
// (and read again from the API every minute, which also notices a session that has ended).
//
// Options in the address: `?page_seconds=N` turns the pages every N seconds (default 10)
// when the offices do not all fit; `?warn_minutes=15&alert_minutes=30` set when a hall is
// marked amber and red.
import { api, el, setCsrfToken } from "/static/common/api.js";
import { startClock } from "/static/common/clock.js";
import { Pager, renderIndicator } from "/static/common/pager.js";
import { number, percent } from "/admin/static/format.js";

const T = JSON.parse(document.body.dataset.texts);
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(window.location.search);
const pageSeconds = positive(params.get("page_seconds"), 10);
const warnMinutes = positive(params.get("warn_minutes"), 15);
const alertMinutes = positive(params.get("alert_minutes"), 30);
const REREAD_S = 60;   // read the overview again even when nothing changed
const TICK_S = 15;     // the longest waits move on between updates

const syncClock = startClock($("clock"));
const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");

function positive(text, fallback) {
  const value = Number.parseFloat(text);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

let overview = null;   // the last {at, offices}
let receivedAt = 0;    // performance.now() when it came
let previous = new Map();  // slug -> the figures last shown, to mark what just changed
let socket = null;
let timers = [];

// Turned by our own timer: a re-layout after every update must not restart the page's time.
const pager = new Pager($("offices"), { onChange: (at) => renderIndicator($("offices-page"), at) });

// ----- logging in ---------------------------------------------------------------
async function start() {
  try {
    const me = await api("/api/auth/me");
    enter(me.user, me.csrf_token);
  } catch (err) {
    showLogin(err.status === 401 ? "" : err.message);
  }
}

function showLogin(message = "") {
  stopTimers();
  $("wall-view").hidden = true;
  $("login-view").hidden = false;
  $("login-error").textContent = message;
  $("login-error").hidden = !message;
  $("login-form").username.focus();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  $("login-error").hidden = true;
  try {
    const result = await api("/api/auth/login", {
      method: "POST", body: { username: form.username.value, password: form.password.value },
    });
    form.password.value = "";
    enter(result.user, result.csrf_token);
  } catch (err) {
    showLogin(err.message);
    form.password.select();
  }
});

$("logout").addEventListener("click", async () => {
  try { await api("/api/auth/logout", { method: "POST" }); } catch (err) { /* logged out anyway */ }
  window.location.reload();
});

function enter(user, csrf) {
  setCsrfToken(csrf);
  if (user.role !== "province") {
    showLogin(T.not_province);
    $("logout").hidden = false;
    return;
  }
  $("logout").hidden = true;
  $("login-view").hidden = true;
  $("wall-view").hidden = false;
  follow();
  stopTimers();
  timers = [
    setInterval(read, REREAD_S * 1000),
    setInterval(render, TICK_S * 1000),
    setInterval(() => { if (pager.count > 1) pager.next(); }, pageSeconds * 1000),
  ];
}

function stopTimers() {
  timers.forEach(clearInterval);
  timers = [];
}

// ----- the figures: from the socket, and read again now and then ----------------------
function follow() {
  const offline = $("offline");
  if (socket) {  // logged in again: the server places the socket by the session it connects with
    socket.disconnect().connect();
    return;
  }
  // socket.io.min.js (vendored) defines the global `io`; `province=1` joins the province's room.
  socket = window.io({ transports: ["websocket", "polling"], query: { province: "1" }, reconnectionDelayMax: 5000 });
  socket.on("connect", () => { offline.hidden = true; read(); });
  socket.on("disconnect", () => { offline.hidden = false; });
  socket.on("province_updated", show);
  window.motcuaWall = { socket, pager, show };  // for the people who look after the wall, and the tests
}

async function read() {
  try {
    show(await api("/api/province/overview"));
  } catch (err) {
    if (err.status === 401) showLogin(T.session_over);
    else if (err.status === 403) showLogin(T.not_province);
    // a network error: the offline banner says so, and the socket resyncs when it is back
  }
}

function show(data) {
  if (!data || !Array.isArray(data.offices) || $("wall-view").hidden) return;
  overview = data;
  receivedAt = performance.now();
  syncClock(data.at);
  $("updated").textContent = fill(T.updated_at, { time: String(data.at || "").slice(11, 19) });
  render();
}

// ----- drawing ---------------------------------------------------------------------
/** Seconds the longest-waiting citizen of an office has waited, now. */
function waited(office) {
  if (!office.waiting) return 0;
  return office.longest_wait_s + (performance.now() - receivedAt) / 1000;
}

function level(office) {
  const minutes = waited(office) / 60;
  if (minutes >= alertMinutes || (office.waiting > 0 && office.counters_open === 0)) return "alert";
  return minutes >= warnMinutes ? "warn" : "";
}

function cell(text, cls = "") {
  return el("span", { role: "cell", class: `fig ${cls}`.trim() }, text);
}

function row(office, shown) {
  const mark = level(office);
  const seconds = waited(office);
  const figures = [office.waiting, office.served_today, office.no_show_today, office.counters_open,
    office.rated_today, office.satisfied_share_today];
  const key = figures.join("|");
  const changed = shown.has(office.slug) && shown.get(office.slug) !== key;
  previous.set(office.slug, key);
  const slug = encodeURIComponent(office.slug);
  const why = mark === "alert" && office.counters_open === 0 && office.waiting > 0 ? T.no_counter_open
    : mark ? fill(T.waited_long, { minutes: Math.floor(seconds / 60) }) : null;
  return el("div", {
    role: "row", class: ["office", mark ? `is-${mark}` : "", changed ? "just-changed" : ""].join(" ").trim(),
    dataset: { office: office.slug }, title: why,
  },
  el("span", { role: "cell", class: "col-name" },
    el("a", { class: "office-link", href: `/o/${slug}/display/`, target: "_blank", rel: "noopener",
      title: fill(T.open_board, { name: office.name }) }, office.name),
    el("a", { class: "report-link", href: `/o/${slug}/admin/#reports`, target: "_blank", rel: "noopener",
      "aria-label": fill(T.open_report, { name: office.name }) }, T.report)),
  cell(number(office.waiting), "waiting"),
  cell(office.waiting ? el("span", { class: "wait" }, number(Math.floor(seconds / 60))) : "—", "longest"),
  cell(number(office.served_today)),
  cell(number(office.no_show_today)),
  cell(number(office.counters_open), office.waiting > 0 && office.counters_open === 0 ? "none-open" : ""),
  cell(number(office.rated_today)),
  cell(percent(office.satisfied_share_today), "share"));
}

function render() {
  if (!overview) return;
  const offices = overview.offices;
  const shown = previous;
  previous = new Map();
  const box = $("offices");
  box.replaceChildren(...(offices.length ? offices.map((o) => row(o, shown))
    : [el("div", { role: "row", class: "office empty" }, el("span", { role: "cell" }, T.no_offices))]));
  const sum = (key) => offices.reduce((total, o) => total + (o[key] || 0), 0);
  $("totals").textContent = `${T.totals}: ${T.waiting.toLowerCase()} ${number(sum("waiting"))} · `
    + `${T.served.toLowerCase()} ${number(sum("served_today"))} · ${fill(T.offices_count, { count: number(offices.length) })}`;
  pager.layout();
}

$("legend-warn").textContent = fill(T.legend_warn, { minutes: number(warnMinutes) });
$("legend-alert").textContent = fill(T.legend_alert, { minutes: number(alertMinutes) });
start();
