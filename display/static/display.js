// The display board. It renders only what the server says: a full `state` on
// connect (so a board that reconnects is whole again), then `ticket_called`
// and `queue_updated` as they happen. `/display?counters=1,2,3` shows only those
// counters; `?voice=browser` prefers a local Vietnamese speechSynthesis voice,
// `?voice=off` keeps the board silent.
import { connect, el, PRIORITY_NAMES } from "/static/common/api.js";
import { startClock } from "/static/common/clock.js";
import { Announcer } from "./voice.js";

const RECENT_SHOWN = 8;
const COUNTER_STATES = { paused: "Tạm dừng", closed: "Đóng" };

const params = new URLSearchParams(window.location.search);
const onlyCounters = parseCounters(params.get("counters"));
const $ = (id) => document.getElementById(id);
const syncClock = startClock($("clock"));

const model = { office: {}, counters: [], recent: [], fields: new Map(), announcements: [] };

function parseCounters(text) {
  if (!text) return null;
  const numbers = text.split(",").map((s) => Number.parseInt(s, 10)).filter(Number.isInteger);
  return numbers.length ? new Set(numbers) : null;
}

const shows = (counter) => !onlyCounters || onlyCounters.has(counter);

// ----- the voice and the "touch to allow sound" gate ---------------------------
const gate = $("sound-gate");
const announcer = new Announcer({
  mode: ["browser", "off"].includes(params.get("voice")) ? params.get("voice") : "clips",
  onBlockedChange: (blocked) => { gate.hidden = !blocked; },
});
window.motcuaVoice = announcer;  // for the people who look after the board (and the tests)
if ("speechSynthesis" in window) window.speechSynthesis.getVoices();  // starts loading voices
document.addEventListener("pointerdown", () => announcer.unlock());
document.addEventListener("keydown", () => announcer.unlock());
announcer.unlock();

// ----- rendering --------------------------------------------------------------
function applyState(state) {
  if (!state || !state.counters) return;
  model.office = state.office || {};
  model.counters = state.counters.filter((c) => shows(c.number));
  model.recent = (state.recent_calls || []).filter((c) => shows(c.counter)).slice(0, RECENT_SHOWN);
  model.fields = new Map((state.fields || []).map((f) => [f.code, f]));
  model.announcements = state.announcements || [];
  syncClock(state.at);
  renderAll();
}

function renderAll() {
  $("office-name").textContent = model.office.name || "";
  $("office-unit").textContent = model.office.unit || "";
  renderHero(model.recent[0] || null);
  renderCounters();
  renderRecent();
  renderWaiting();
  renderTicker();
}

function renderHero(call) {
  $("hero-code").textContent = call ? call.ticket.code : "—";
  $("hero-counter").textContent = call ? String(call.counter) : "";
  const field = call && model.fields.get(call.ticket.field);
  $("hero-field").textContent = field ? field.name : "";
  const priority = call && call.ticket.priority;
  $("hero-priority").hidden = !priority;
  $("hero-priority").textContent = priority ? `Ưu tiên: ${PRIORITY_NAMES[priority] || priority}` : "";
  $("hero-recall").hidden = !(call && call.recall);
}

function flash(node, className) {
  node.classList.remove(className);
  void node.offsetWidth;  // restart the animation
  node.classList.add(className);
}

function renderCounters() {
  const tiles = model.counters.map((c) => {
    const state = COUNTER_STATES[c.state];
    const code = c.current ? c.current.code : (state || "—");
    return el("li", {
      class: ["tile", `is-${c.state}`, c.current && c.current.priority ? "is-priority" : ""].join(" ").trim(),
      dataset: { counter: String(c.number) },
    },
    el("span", { class: "tile-number" }, String(c.number)),
    el("span", { class: "tile-name" }, c.name || `Quầy ${c.number}`),
    el("span", { class: "tile-code" }, c.current && state ? `${c.current.code} · ${state}` : code));
  });
  $("counter-tiles").replaceChildren(...tiles);
}

function renderRecent() {
  const items = model.recent.map((call) => el("li", { class: call.ticket.priority ? "is-priority" : "" },
    el("span", { class: "recent-code" }, call.ticket.code),
    el("span", { class: "recent-where" }, `→ Quầy ${call.counter}`)));
  $("recent-list").replaceChildren(...items);
}

function renderWaiting() {
  const items = [...model.fields.values()].map((f) => el("li", { dataset: { field: f.code } },
    el("span", { class: "waiting-name" }, el("span", { class: "waiting-prefix" }, f.prefix || ""), f.name),
    el("span", { class: "waiting-count" }, `${f.waiting} người`)));
  $("waiting-list").replaceChildren(...items);
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
  model.recent = [call, ...model.recent].slice(0, RECENT_SHOWN);
  const counter = model.counters.find((c) => c.number === call.counter);
  if (counter) {
    counter.current = { code: call.ticket.code, field: call.ticket.field, priority: call.ticket.priority };
    if (counter.state !== "open") counter.state = "open";
  }
  renderHero(call);
  renderCounters();
  renderRecent();
  flash($("hero"), "flash");
  const tile = document.querySelector(`.tile[data-counter="${call.counter}"]`);
  if (tile) tile.classList.add("just-called");
  announcer.announce(call.ticket.code, call.counter);
}

function onQueueUpdated(data) {
  for (const update of (data && data.fields) || []) {
    const field = model.fields.get(update.code);
    if (field) Object.assign(field, update);
  }
  renderWaiting();
}

// A counter paused, resumed, finished or called: the event carries its tile.
function onCounterUpdated(data) {
  // The event carries the counter as the board shows it: redraw that tile, no round trip.
  if (!data || data.number === undefined || !shows(data.number)) return;
  const index = model.counters.findIndex((c) => c.number === data.number);
  const tile = { number: data.number, name: data.name, state: data.state, fields: data.fields, current: data.current };
  if (index >= 0) model.counters[index] = tile;
  else model.counters = [...model.counters, tile].sort((a, b) => a.number - b.number);
  renderCounters();
}

const offline = $("offline");
const socket = connect({
  state: applyState,
  ticket_called: onTicketCalled,
  queue_updated: onQueueUpdated,
  counter_updated: onCounterUpdated,
  connect: () => { offline.hidden = true; },
  disconnect: () => { offline.hidden = false; },
});
window.motcuaBoard = { socket, model };
