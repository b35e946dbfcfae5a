// The display board. It renders only what the server says: a full `state` on
// connect (so a board that reconnects is whole again), then `ticket_called`,
// `counter_updated` and `queue_updated` as they happen.
//
// Options in the address: `/display?counters=1,2,3` shows only those counters;
// `?voice=browser` prefers a local Vietnamese speechSynthesis voice, `?voice=off`
// keeps the board silent; `?page_seconds=N` turns the pages of counters and
// fields every N seconds (default 10) when they do not all fit on the screen.
//
// In public the board says only that a ticket has priority ("Ưu tiên"), never why:
// the reason is for the clerk and the paper. A ticket booked online ("Đặt lịch", its ticket
// carries `booked_start`) is marked the same way, so the hall sees why it came before them.
import { connect, el, officeUrl } from "/static/common/api.js";
import { startClock } from "/static/common/clock.js";
import { Pager, renderIndicator } from "/static/common/pager.js";
import { Announcer } from "./voice.js";

const RECENT_KEPT = 10;
const COUNTER_STATES = { paused: "Tạm dừng", closed: "Đóng" };

const params = new URLSearchParams(window.location.search);
const onlyCounters = parseCounters(params.get("counters"));
const pageSeconds = positiveNumber(params.get("page_seconds"), 10);
const $ = (id) => document.getElementById(id);
const syncClock = startClock($("clock"));

const model = { office: {}, counters: [], recent: [], fields: new Map(), announcements: [] };

function parseCounters(text) {
  if (!text) return null;
  const numbers = text.split(",").map((s) => Number.parseInt(s, 10)).filter(Number.isInteger);
  return numbers.length ? new Set(numbers) : null;
}

function positiveNumber(text, fallback) {
  const value = Number.parseFloat(text);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const shows = (counter) => !onlyCounters || onlyCounters.has(counter);

// ----- the voice and the "touch to allow sound" gate ---------------------------
const gate = $("sound-gate");
const announcer = new Announcer({
  mode: ["browser", "off"].includes(params.get("voice")) ? params.get("voice") : "clips",
  clipUrl: (name) => officeUrl(`/display/voice/${name}`),
  onBlockedChange: (blocked) => { gate.hidden = !blocked; },
});
window.motcuaVoice = announcer;  // for the people who look after the board (and the tests)
if ("speechSynthesis" in window) window.speechSynthesis.getVoices();  // starts loading voices
document.addEventListener("pointerdown", () => announcer.unlock());
document.addEventListener("keydown", () => announcer.unlock());
announcer.unlock();

// ----- pages: counters and fields that do not all fit turn by themselves -------
// The recent calls get as many rows as fit their box, measured again when the box changes size.
new ResizeObserver(() => renderRecent()).observe($("recent-list").parentElement);

const pagers = {
  counters: new Pager($("counter-tiles"), {
    seconds: pageSeconds, prepare: fitTiles, onChange: (at) => renderIndicator($("counters-page"), at),
  }),
  waiting: new Pager($("waiting-list"), {
    seconds: pageSeconds, lockHeight: true, onChange: (at) => renderIndicator($("waiting-page"), at),
  }),
};

// ----- rendering --------------------------------------------------------------
function applyState(state) {
  if (!state || !state.counters) return;
  model.office = state.office || {};
  model.recent = (state.recent_calls || []).filter((c) => shows(c.counter)).slice(0, RECENT_KEPT);
  model.counters = state.counters.filter((c) => shows(c.number));
  model.recent = withCallsAtCounters(model.recent);
  model.fields = new Map((state.fields || []).map((f) => [f.code, f]));
  model.announcements = state.announcements || [];
  syncClock(state.at);
  renderAll();
}

function renderAll() {
  $("office-name").textContent = model.office.name || "";
  $("office-unit").textContent = model.office.unit || "";
  renderHero(model.recent[0] || null);
  renderTicker();
  renderWaiting();
  renderCounters();
  renderRecent();
}

/**
 * The server sends the office's last few calls; a board for some counters (or a big office, where
 * those few came from other counters) also lists the tickets now at its counters, newest first.
 */
function withCallsAtCounters(recent) {
  const seen = new Set(recent.map((call) => `${call.ticket.code}@${call.counter}`));
  const atCounters = model.counters.filter((c) => c.current && c.current.called_at && !seen.has(`${c.current.code}@${c.number}`))
    .map((c) => ({ ticket: c.current, counter: c.number, recall: false, at: c.current.called_at }));
  return [...recent, ...atCounters]
    .sort((a, b) => (Date.parse(b.at) || 0) - (Date.parse(a.at) || 0))
    .slice(0, RECENT_KEPT);
}

function renderHero(call) {
  $("hero").classList.toggle("is-empty", !call);
  $("hero-code").textContent = call ? call.ticket.code : "—";
  $("hero-counter").textContent = call ? String(call.counter) : "";
  const field = call && model.fields.get(call.ticket.field);
  $("hero-field").textContent = field ? field.name : "";
  $("hero-priority").hidden = !(call && call.ticket.priority);
  $("hero-booked").hidden = !(call && call.ticket.booked_start);
  $("hero-recall").hidden = !(call && call.recall);
}

function flash(node, className) {
  node.classList.remove(className);
  void node.offsetWidth;  // restart the animation
  node.classList.add(className);
}

function counterTile(c) {
  const state = COUNTER_STATES[c.state];
  const code = c.current ? c.current.code : (state || "—");
  const priority = Boolean(c.current && c.current.priority);
  const booked = Boolean(c.current && c.current.booked_start);
  // "Quầy 3" says nothing the number does not; a name like "Quầy 3 – Đất đai" does.
  const ownName = c.name && c.name.trim() !== `Quầy ${c.number}` ? c.name : null;
  return el("li", {
    class: ["tile", `is-${c.state}`, c.current ? "has-ticket" : "", priority ? "is-priority" : "",
      booked ? "is-booked" : ""].join(" ").trim(),
    dataset: { counter: String(c.number) },
  },
  el("span", { class: "tile-number", "aria-label": `Quầy ${c.number}` }, String(c.number)),
  el("span", { class: "tile-body" },
    ownName ? el("span", { class: "tile-name" }, ownName) : null,
    el("span", { class: "tile-code" }, c.current && state ? `${c.current.code} · ${state}` : code),
    priority ? el("span", { class: "tile-flag" }, "Ưu tiên") : null,
    booked ? el("span", { class: "tile-flag is-booked" }, "Đặt lịch") : null));
}

function renderCounters() {
  $("counter-tiles").replaceChildren(...model.counters.map(counterTile));
  pagers.counters.layout();
}

// Tiles as big as they can be while all fit: a small office gets big tiles. When they cannot all fit
// even at the smallest size still read from across a hall, that size is paged (fewer pages to wait for).
const TILE_SCALES = [1.8, 1.5, 1.25, 1, 0.9, 0.8];
const TILE_MIN_PX = 30;
function fitTiles() {
  const box = $("counter-tiles");
  box.style.setProperty("--tile-scale", "1");
  const basePx = parseFloat(getComputedStyle(box).fontSize) || TILE_MIN_PX;
  const readable = TILE_SCALES.filter((scale) => scale >= 1 || basePx * scale >= TILE_MIN_PX);
  for (const scale of readable) {
    box.style.setProperty("--tile-scale", String(scale));
    if (box.scrollHeight <= box.clientHeight + 1) return;
  }
  // Paged: the smallest readable size.
  box.style.setProperty("--tile-scale", String(readable[readable.length - 1]));
}

function renderRecent() {
  // Newest first, read down each column: the list gets as many rows as fit its box.
  const list = $("recent-list");
  const items = model.recent.map((call) => el("li", {
    class: [call.ticket.priority ? "is-priority" : "", call.ticket.booked_start ? "is-booked" : ""].join(" ").trim() || null,
  },
  el("span", { class: "recent-code" }, call.ticket.code),
  el("span", { class: "recent-where" }, `Quầy ${call.counter}`),
  call.ticket.booked_start ? el("span", { class: "recent-flag" }, "Đặt lịch") : null));
  const columns = Math.max(1, Number.parseInt(getComputedStyle(list).getPropertyValue("--recent-columns"), 10) || 1);
  for (let rows = Math.max(1, Math.ceil(items.length / columns)); rows >= 1; rows -= 1) {
    list.style.gridTemplateRows = `repeat(${rows}, min-content)`;
    list.replaceChildren(...items.slice(0, rows * columns));
    if (rows === 1 || list.scrollHeight <= list.clientHeight + 1) break;
  }
}

function renderWaiting() {
  const items = [...model.fields.values()].map((f) => el("li", { dataset: { field: f.code } },
    el("span", { class: "waiting-prefix" }, f.prefix || ""),
    el("span", { class: "waiting-name" }, f.name),
    el("span", { class: "waiting-count" }, `${f.waiting} người`)));
  $("waiting-list").replaceChildren(...items);
  pagers.waiting.layout();
}

function renderTicker() {
  const texts = model.announcements.map((a) => a.text).filter(Boolean);
  $("ticker").hidden = texts.length === 0;
  const line = $("ticker-text");
  line.textContent = texts.join("   •   ");
  // Same reading speed whatever the length: about 12 characters a second.
  line.style.animationDuration = `${Math.max(15, Math.round((line.textContent.length + 60) / 12))}s`;
}

// ----- live events ----------------------------------------------------------------
function onTicketCalled(call) {
  if (!call || !call.ticket || !shows(call.counter)) return;
  model.recent = [call, ...model.recent].slice(0, RECENT_KEPT);
  if (call.counter_tile) {
    // One message per call: the counter's tile (as `counter_updated` carries it) rides along.
    putTile({ ...call.counter_tile, number: call.counter_tile.number ?? call.counter });
  } else {
    const counter = model.counters.find((c) => c.number === call.counter);
    if (counter) {
      counter.current = { code: call.ticket.code, field: call.ticket.field, priority: call.ticket.priority,
        ...(call.ticket.booked_start ? { booked_start: call.ticket.booked_start } : {}) };
      if (counter.state !== "open") counter.state = "open";
    }
  }
  if (Array.isArray(call.fields)) mergeFields(call.fields);
  renderHero(call);
  renderCounters();
  renderRecent();
  if (Array.isArray(call.fields)) renderWaiting();
  flash($("hero"), "flash");
  const index = model.counters.findIndex((c) => c.number === call.counter);
  if (index >= 0) {
    pagers.counters.show(pagers.counters.pageOf(index));  // the called counter's tile is on screen
    $("counter-tiles").children[index].classList.add("just-called");
  }
  announcer.announce(call.ticket.code, call.counter);
}

function mergeFields(updates) {
  for (const update of updates || []) {
    const field = model.fields.get(update.code);
    if (field) Object.assign(field, update);
  }
}

function onQueueUpdated(data) {
  mergeFields(data && data.fields);
  renderWaiting();
}

function putTile(data) {
  const tile = { number: data.number, name: data.name, state: data.state, fields: data.fields, current: data.current };
  const index = model.counters.findIndex((c) => c.number === data.number);
  if (index >= 0) model.counters[index] = tile;
  else model.counters = [...model.counters, tile].sort((a, b) => a.number - b.number);
}

// A counter paused, resumed, finished or called: the event carries its tile, no round trip.
function onCounterUpdated(data) {
  if (!data || data.number === undefined || !shows(data.number)) return;
  putTile(data);
  renderCounters();
}

const offline = $("offline");
const handlers = {
  state: applyState,
  ticket_called: onTicketCalled,
  queue_updated: onQueueUpdated,
  counter_updated: onCounterUpdated,
};
const socket = connect({
  ...handlers,
  connect: () => { offline.hidden = true; },
  disconnect: () => { offline.hidden = false; },
});
// For the people who look after the board, and the tests (which feed events the server will send).
window.motcuaBoard = { socket, model, pagers, handlers };
