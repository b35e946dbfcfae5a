// Booking from a phone: field -> day -> slot -> phone (and name) -> the code, its QR, an .ics,
// and the booking's own page (where it can be cancelled). One step on screen at a time, big
// targets, the phone's Back button goes back a step. Every error is shown as the API words it.
//
// A booking attempt carries one Idempotency-Key, kept while the answer is unknown (the network
// failed, or the server did): pressing again resends the same request and can never book twice.
//
// `?field=CODE` in the address opens on that field (a link from the office's website).
import { api, el, officeUrl } from "/static/common/api.js";
import { addDays, bookableFields, dayParts, hhmm, slotText } from "/static/common/booking.js";

const STEPS = ["field", "day", "slot", "contact", "done"];
const MINE_KEY = "motcua.bookings";
const MINE_KEPT = 6;
const $ = (id) => document.getElementById(id);

const chosen = { field: null, day: null, slot: null };
let fields = [];
let days = [];           // [{date, slots: [...], closed, left}] for the chosen field
let today = null;        // the office's date, as the server says
let step = "field";
let attempt = null;      // {what, key}: the booking request on its way or to retry
let sending = false;
let pendingAlert = null;  // to show once the history has moved back to a step

// ----- steps -------------------------------------------------------------------------
function show(next, { push = true } = {}) {
  step = next;
  for (const name of STEPS) $(`step-${name}`).hidden = name !== next;
  const at = STEPS.indexOf(next);
  for (const item of $("progress").children) {
    const index = STEPS.indexOf(item.dataset.step);
    item.classList.toggle("is-done", index < at);
    item.classList.toggle("is-current", index === at);
    if (index === at) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
  }
  $("progress").hidden = next === "done";
  renderSummary();
  if (push) history.pushState({ step: next }, "");
  window.scrollTo(0, 0);
  const heading = $(`step-${next}`).querySelector("h1");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

function back() {
  history.back();
}

window.addEventListener("popstate", (event) => {
  const wanted = (event.state && event.state.step) || "field";
  hideAlert();
  // After a booking, Back starts afresh: never the filled form again (a second tap would book twice).
  if (step === "done" || !canShow(wanted)) {
    restart({ push: false });
    return;
  }
  show(wanted, { push: false });
  if (pendingAlert) showAlert(pendingAlert);
  pendingAlert = null;
});

function canShow(name) {
  if (name === "day") return Boolean(chosen.field);
  if (name === "slot") return Boolean(chosen.field && chosen.day);
  if (name === "contact") return Boolean(chosen.field && chosen.day && chosen.slot);
  return name === "field";
}

function restart({ push = true } = {}) {
  chosen.field = chosen.day = chosen.slot = null;
  attempt = null;
  $("contact").reset();
  renderMine();
  show("field", { push });
}

// ----- what is chosen so far -----------------------------------------------------------
function renderSummary() {
  const rows = [];
  const at = STEPS.indexOf(step);
  const item = (label, value, target) => [
    el("dt", {}, label),
    el("dd", {}, el("span", {}, value),
      step === "done" ? null : el("button", { type: "button", class: "change", onclick: () => goTo(target) }, "Đổi")),
  ];
  if (chosen.field && at > 0) rows.push(...item("Lĩnh vực", chosen.field.name, "field"));
  if (chosen.day && at > 1) {
    const day = dayParts(chosen.day);
    rows.push(...item("Ngày", `${day.weekday} ${day.long}`, "day"));
  }
  if (chosen.slot && at > 2) rows.push(...item("Giờ", `${hhmm(chosen.slot.start)} – ${hhmm(chosen.slot.end)}`, "slot"));
  $("summary").replaceChildren(...rows);
  $("summary").hidden = rows.length === 0 || step === "done";
}

function goTo(target, message = null) {
  hideAlert();
  // Going back through the history keeps the phone's Back button in step with the page.
  const steps = STEPS.indexOf(step) - STEPS.indexOf(target);
  if (steps > 0) {
    pendingAlert = message;
    history.go(-steps);
  } else if (message) {
    showAlert(message);
  }
}

// ----- alerts --------------------------------------------------------------------------
function showAlert(text) {
  $("alert").textContent = text;
  $("alert").hidden = false;
  $("alert").scrollIntoView({ block: "nearest" });
}
function hideAlert() { $("alert").hidden = true; }

// ----- 1. the field ------------------------------------------------------------------
async function loadFields() {
  try {
    fields = await bookableFields((await api("/api/fields")).fields || []);
  } catch (err) {
    $("field-list").replaceChildren(el("p", { class: "empty" }, err.message),
      el("button", { type: "button", class: "secondary", onclick: loadFields }, "Thử lại"));
    return;
  }
  $("field-list").setAttribute("aria-busy", "false");
  if (!fields.length) {
    $("field-list").replaceChildren(el("p", { class: "empty" },
      "Hiện cơ quan chưa nhận đặt lịch hẹn trực tuyến. Xin mời ông/bà đến lấy số tại máy lấy số."));
    return;
  }
  $("field-list").replaceChildren(...fields.map((field) => el("button", {
    type: "button", class: "choice", dataset: { field: field.code }, onclick: () => chooseField(field),
  }, el("span", { class: "choice-name" }, field.name),
  field.hint ? el("span", { class: "choice-hint" }, field.hint) : null)));
  const wanted = new URLSearchParams(window.location.search).get("field");
  const field = wanted && fields.find((f) => f.code === wanted);
  if (field && step === "field") chooseField(field);
}

async function chooseField(field) {
  hideAlert();
  chosen.field = field;
  chosen.day = chosen.slot = null;
  days = [];
  show("day");
  await loadDays();
}

// ----- 2. the day ----------------------------------------------------------------------
/** One day's slots, or {closed} / {outOfRange}; never throws for a day the office does not take. */
async function fetchDay(date) {
  const query = `field=${encodeURIComponent(chosen.field.code)}${date ? `&date=${date}` : ""}`;
  try {
    return await api(`/api/booking/slots?${query}`);
  } catch (err) {
    if (err.code === "day_out_of_range") return { date, outOfRange: true };
    throw err;
  }
}

function dayOf(answer) {
  const slots = answer.slots || [];
  return { date: answer.date, slots, closed: answer.closed || null,
    left: slots.reduce((sum, s) => sum + Math.max(0, s.left), 0) };
}

async function loadDays() {
  const field = chosen.field;
  $("day-list").replaceChildren(el("p", { class: "loading" }, "Đang tải các ngày…"));
  try {
    const first = field.firstDay && field.firstDay.field === field.code ? field.firstDay : await fetchDay(null);
    field.firstDay = null;  // asked once when the page opened; fresh answers from now on
    today = first.date;
    days = [dayOf(first)];
    // Days ahead: as the field's settings say, or (a server that does not list them) until the
    // server says a day is out of range, a week at a time.
    const limit = field.booking && Number.isInteger(field.booking.days_ahead) ? field.booking.days_ahead : 30;
    for (let from = 1; from <= limit; from += 7) {
      const dates = [];
      for (let n = from; n < from + 7 && n <= limit; n += 1) dates.push(addDays(today, n));
      const answers = await Promise.all(dates.map(fetchDay));
      if (chosen.field !== field) return;  // the citizen went elsewhere meanwhile
      const inRange = answers.filter((a) => !a.outOfRange);
      days.push(...inRange.map(dayOf));
      if (inRange.length < answers.length) break;
    }
  } catch (err) {
    if (chosen.field !== field) return;
    $("day-list").replaceChildren(el("p", { class: "empty" }, err.message),
      el("button", { type: "button", class: "secondary", onclick: loadDays }, "Thử lại"));
    return;
  }
  if (chosen.field === field) renderDays();
}

function dayName(date) {
  if (date === today) return "Hôm nay";
  if (date === addDays(today, 1)) return "Ngày mai";
  return dayParts(date).weekday;
}

function renderDays() {
  const buttons = days.map((day) => {
    const parts = dayParts(day.date);
    const full = !day.closed && day.left === 0;
    const state = day.closed ? "Không nhận lịch" : full ? (day.slots.length ? "Hết chỗ" : "Không còn giờ trống") : `Còn ${day.left} chỗ`;
    return el("button", {
      type: "button", class: `day${day.closed || full ? " is-full" : ""}`, dataset: { date: day.date },
      disabled: Boolean(day.closed || full), onclick: () => chooseDay(day.date),
    },
    el("span", { class: "day-name" }, dayName(day.date)),
    el("span", { class: "day-date" }, dayName(day.date) === parts.weekday ? parts.short : `${parts.weekday} ${parts.short}`),
    el("span", { class: "day-left" }, state));
  });
  $("day-list").replaceChildren(...buttons);
}

function chooseDay(date) {
  hideAlert();
  chosen.day = date;
  chosen.slot = null;
  renderSlots();
  show("slot");
}

// ----- 3. the slot -----------------------------------------------------------------------
function renderSlots() {
  const day = days.find((d) => d.date === chosen.day);
  const slots = (day && day.slots) || [];
  if (!slots.length) {
    $("slot-list").replaceChildren(el("p", { class: "empty" }, (day && day.closed) || "Ngày này không còn giờ trống."));
    return;
  }
  const groups = [["Buổi sáng", slots.filter((s) => hhmm(s.start) < "12:00")],
    ["Buổi chiều", slots.filter((s) => hhmm(s.start) >= "12:00")]].filter(([, list]) => list.length);
  $("slot-list").replaceChildren(...groups.map(([title, list]) => el("div", { class: "slot-group" },
    el("h2", {}, title),
    el("div", { class: "slots" }, list.map((slot) => el("button", {
      type: "button", class: `slot${slot.left > 0 ? "" : " is-full"}`, dataset: { start: slot.start },
      disabled: slot.left <= 0, onclick: () => chooseSlot(slot),
    },
    el("span", { class: "slot-time" }, `${hhmm(slot.start)} – ${hhmm(slot.end)}`),
    el("span", { class: "slot-left" }, slot.left > 0 ? `Còn ${slot.left} chỗ` : "Hết chỗ")))))));
}

function chooseSlot(slot) {
  hideAlert();
  chosen.slot = slot;
  show("contact");
}

/** The day's slots again (after "slot full" and the like), then back to the slot choice. */
async function reloadSlots(message) {
  try {
    const answer = await fetchDay(chosen.day);
    const index = days.findIndex((d) => d.date === chosen.day);
    if (!answer.outOfRange && index >= 0) days[index] = dayOf(answer);
  } catch (err) {
    // Keep the old list: the message says what happened.
  }
  chosen.slot = null;
  renderSlots();
  goTo("slot", message);
}

// ----- 4. phone and name: booking ----------------------------------------------------------
function newKey() {
  // crypto.randomUUID needs a secure context; a page on plain http has getRandomValues only.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const RETRY_SLOT = new Set(["slot_full", "no_such_slot", "slot_closed", "day_closed", "day_out_of_range"]);

async function submit(event) {
  event.preventDefault();
  if (sending) return;
  hideAlert();
  const body = { field: chosen.field.code, start: chosen.slot.start, phone: $("phone").value.trim(),
    name: $("name").value.trim() };
  const what = JSON.stringify(body);
  if (!attempt || attempt.what !== what) attempt = { what, key: newKey() };
  sending = true;
  $("submit").disabled = true;
  $("submit").textContent = "Đang đặt lịch…";
  try {
    const booking = await api("/api/bookings", {
      method: "POST", body, headers: { "Idempotency-Key": attempt.key }, timeoutMs: 15000,
    });
    attempt = null;
    done(booking);
  } catch (err) {
    // The answer never came (or the server failed): keep the key, so trying again cannot book twice.
    const unknown = err.status === 0 || err.status >= 500;
    if (!unknown) attempt = null;
    if (RETRY_SLOT.has(err.code)) {
      reloadSlots(err.message);
    } else {
      showAlert(err.message);
      if (err.code === "invalid_phone") $("phone").focus();
    }
    $("submit").textContent = unknown ? "Thử lại" : "Xác nhận đặt lịch";
  } finally {
    sending = false;
    $("submit").disabled = false;
    if (step !== "contact") $("submit").textContent = "Xác nhận đặt lịch";
  }
}

// ----- 5. the booking -------------------------------------------------------------------
function fact(label, value) {
  return [el("dt", {}, label), el("dd", {}, value)];
}

function done(booking) {
  const page = `/b/${encodeURIComponent(booking.token)}`;
  $("done-code").textContent = booking.code;
  $("done-qr").src = `${page}/qr.svg`;
  $("done-facts").replaceChildren(
    ...fact("Lĩnh vực", booking.field_name),
    ...fact("Thời gian", slotText(booking.start, booking.end)),
    ...fact("Nơi đến", booking.office_name),
    ...fact("Người đặt", [booking.name, booking.phone].filter(Boolean).join(" · ")),
  );
  $("done-howto").textContent = `Khi đến, xin mời ông/bà nhập mã ${booking.code} (hoặc quét mã QR) tại máy lấy số, `
    + `từ ${hhmm(booking.checkin_from)} đến ${hhmm(booking.checkin_until)}, để nhận số thứ tự. `
    + "Đến giờ hẹn, số của ông/bà được gọi trước.";
  $("done-ics").href = `/api/bookings/${encodeURIComponent(booking.token)}.ics`;
  $("done-page").href = page;
  remember(booking);
  chosen.slot = null;
  $("contact").reset();
  // Back from here starts afresh: replace the form's place in the history with the result.
  history.replaceState({ step: "done" }, "");
  show("done", { push: false });
}

// ----- bookings made on this phone (so a lost code is one tap away) -------------------------
function mine() {
  try {
    const list = JSON.parse(localStorage.getItem(MINE_KEY) || "[]");
    return Array.isArray(list) ? list : [];
  } catch (err) {
    return [];
  }
}

function remember(booking) {
  const entry = { token: booking.token, code: booking.code, start: booking.start, end: booking.end,
    field_name: booking.field_name, office_name: booking.office_name };
  try {
    const list = [entry, ...mine().filter((b) => b.token !== booking.token)].slice(0, MINE_KEPT);
    localStorage.setItem(MINE_KEY, JSON.stringify(list));
  } catch (err) {
    // Private browsing: nothing kept, the page itself still shows the code.
  }
}

function renderMine() {
  // Only what is still ahead (today's included): the booking's page says the rest.
  const upcoming = mine().filter((b) => typeof b.start === "string" && (!today || b.start.slice(0, 10) >= today));
  const here = document.querySelector(".book-office").textContent.trim();
  $("mine").hidden = upcoming.length === 0;
  $("mine-list").replaceChildren(...upcoming.map((b) => el("li", {},
    el("a", { href: `/b/${encodeURIComponent(b.token)}` },
      el("b", {}, b.code), ` · ${b.field_name} · ${slotText(b.start, b.end)}`,
      b.office_name && b.office_name !== here ? ` · ${b.office_name}` : ""))));
}

// ----- start ---------------------------------------------------------------------------------
for (const button of document.querySelectorAll("[data-back]")) button.addEventListener("click", back);
$("contact").addEventListener("submit", submit);
$("again").addEventListener("click", () => restart());
history.replaceState({ step: "field" }, "");
show("field", { push: false });
renderMine();
loadFields();
window.motcuaBooking = { chosen, officeUrl };
