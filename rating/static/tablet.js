// The rating tablet at a counter. Unpaired, it asks for a pairing code. Paired,
// it idles with the counter's name; on `rate_request` it shows the form for that
// ticket, says thank you, and goes back to idle (also after ~30 s untouched).
import { api, connect, pairFromUrl } from "/static/common/api.js";
import { loadScale, ratingForm } from "./rating-form.js";

const IDLE_AFTER_S = 30;
const THANKS_S = 6;
const $ = (id) => document.getElementById(id);

let device = null;
let current = null;        // token being rated
let idleTimer = null;

function show(screen) {
  for (const id of ["pairing", "idle", "rate", "thanks"]) $(id).hidden = id !== screen;
}

function goIdle() {
  clearTimeout(idleTimer);
  current = null;
  show("idle");
}

function idleIn(seconds) {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(goIdle, seconds * 1000);
}

async function onRateRequest(data) {
  if (!data || !data.token) return;
  const scale = await loadScale();
  current = data.token;
  $("rate-code").textContent = data.ticket ? data.ticket.code : "";
  ratingForm($("rate-form"), scale, data.token, (result) => {
    $("thanks-title").textContent = result.ok ? "Cảm ơn ông/bà đã đánh giá!" : result.message;
    $("thanks-text").hidden = !result.ok;
    current = null;
    show("thanks");
    idleIn(THANKS_S);
  });
  show("rate");
  idleIn(IDLE_AFTER_S);
}

function onRateCancel(data) {
  if (data && data.token === current) goIdle();
}

function onState(state) {
  const counter = (state.counters || []).find((c) => c.number === device.counter);
  $("idle-counter").textContent = counter ? counter.name : `Quầy ${device.counter}`;
  $("idle-office").textContent = state.office ? state.office.name : "";
}

function start(paired) {
  device = paired;
  goIdle();
  $("idle-counter").textContent = `Quầy ${device.counter}`;
  const offline = $("offline");
  // The device cookie rides along with the handshake: the server puts this socket in its counter's room.
  connect({
    state: onState,
    rate_request: onRateRequest,
    rate_cancel: onRateCancel,
    connect: () => { offline.hidden = true; },
    disconnect: () => { offline.hidden = false; },
  });
  // Any touch while rating keeps the form open a little longer.
  document.addEventListener("pointerdown", () => { if (current) idleIn(IDLE_AFTER_S); });
  document.addEventListener("input", () => { if (current) idleIn(IDLE_AFTER_S); });
}

function showPairing(message) {
  show("pairing");
  const error = $("pair-error");
  error.textContent = message || "";
  error.hidden = !message;
}

async function whoAmI() {
  try {
    return (await api("/api/devices/me")).device;
  } catch (err) {
    if (err.status === 401) return null;
    throw err;
  }
}

function usable(me) {
  if (!me) return "";
  if (me.kind !== "tablet" || !me.counter) return "Mã này không dành cho máy đánh giá của một quầy. Vui lòng dùng mã ghép nối loại “tablet”.";
  return null;
}

$("pair-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const result = await api("/api/devices/pair", { method: "POST", body: { code: $("pair-code").value.trim() } });
    const problem = usable(result.device);
    if (problem !== null) showPairing(problem);
    else start(result.device);
  } catch (err) {
    showPairing(err.message);
  }
});

let pairError = "";
try {
  await pairFromUrl();
} catch (err) {
  pairError = err.message;
}
try {
  const me = await whoAmI();
  const problem = usable(me);
  if (problem === null) start(me);
  else showPairing(pairError || problem);
} catch (err) {
  showPairing(err.message);
}
