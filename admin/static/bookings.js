// Online bookings (đặt lịch hẹn) as the office's admin handles them: a day's bookings by slot with the
// citizens' full phones (the admin calls people), cancelling one on a citizen's behalf with a reason, the
// list on paper (A4, the table alone under the office and the day: admin.css @media print), the days the
// office takes no bookings, and which fields take them (set in each field's dialog).
import { api, el } from "/static/common/api.js";
import { addDays, day, parseDay, today } from "./format.js";
import { $, T, button, change, fill, formDialog, quick, say, table, wireDateField } from "./ui.js";

const form = $("bookings-form");
const officeZone = document.body.dataset.timezone || "Asia/Ho_Chi_Minh";
const STATUSES = ["booked", "checked_in", "missed", "cancelled"];

let chosen = null;  // the day on screen, YYYY-MM-DD

/** `office`: the office on screen ({name, unit}), for the top of the printed list. */
export function initBookings(office) {
  $("bookings-office").textContent = office.name;
  $("bookings-unit").textContent = office.unit || "";
  if (chosen) return;
  chosen = today(officeZone);
  form.day.value = day(chosen);
  wireDateField(form.day, form.querySelector("button.calendar"), form.querySelector("input.picker"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const iso = parseDay(form.day.value);
    form.day.toggleAttribute("aria-invalid", !iso);
    $("bookings-error").textContent = iso ? "" : T.date_invalid;
    $("bookings-error").hidden = Boolean(iso);
    if (iso) show(iso);
  });
  for (const preset of form.querySelectorAll("[data-day]")) {
    preset.addEventListener("click", () => show(addDays(today(officeZone), Number(preset.dataset.day))));
  }
  $("bookings-print").addEventListener("click", () => window.print());
}

function show(iso) {
  chosen = iso;
  form.day.value = day(iso);
  renderBookings().catch((err) => say(err.message, "error"));
}

/** "thứ Năm 26/11/2026" */
function longDay(iso) {
  return `${T.weekdays[new Date(`${iso}T00:00:00Z`).getUTCDay()]} ${day(iso)}`;
}

/** "Thứ Sáu" -> "thứ Sáu" inside a Vietnamese sentence; English keeps "Friday". */
function inSentence(weekday) {
  return document.documentElement.lang === "en" ? weekday : weekday.charAt(0).toLowerCase() + weekday.slice(1);
}

/** "0912345678" -> "0912 345 678": read out digit groups when calling. */
function phoneText(phone) {
  return /^\d{10}$/.test(phone || "") ? `${phone.slice(0, 4)} ${phone.slice(4, 7)} ${phone.slice(7)}` : phone || "—";
}

const hhmm = (iso) => iso.slice(11, 16);

export async function renderBookings() {
  if (!chosen) return;
  const [{ bookings }, { fields }, { days }] = await Promise.all([
    api(`/api/admin/bookings?date=${chosen}`), api("/api/admin/fields"), api("/api/admin/blackout-days")]);
  const now = today(officeZone);
  const relative = chosen === now ? T.today : chosen === addDays(now, 1) ? T.tomorrow : "";
  for (const preset of form.querySelectorAll("[data-day]")) {
    preset.setAttribute("aria-pressed", String(addDays(now, Number(preset.dataset.day)) === chosen));
  }
  const weekday = T.weekdays[new Date(`${chosen}T00:00:00Z`).getUTCDay()];
  // "today" and "tomorrow" say nothing on paper kept for a day: the screen alone says them
  $("bookings-title").replaceChildren(
    fill(T.bookings_title, { day: day(chosen), weekday: inSentence(weekday) }),
    ...(relative ? [el("span", { class: "no-print" }, ` · ${relative}`)] : []));
  const closed = days.find((d) => d.day === chosen);
  const counts = Object.fromEntries(STATUSES.map((s) => [s, bookings.filter((b) => b.status === s).length]));
  const summary = bookings.length ? el("p", { class: "booking-counts no-print" },
    fill(T.bookings_count, { count: bookings.length }), ...STATUSES.filter((s) => counts[s]).map((s) =>
      [" · ", el("span", { class: `status ${s}` }, `${T.booking_status[s]} ${counts[s]}`)])) : null;
  let previous = null;
  const rows = bookings.map((b) => {
    const first = b.start !== previous;
    previous = b.start;
    return { class: first ? "slot-first" : "", cells: [
      `${hhmm(b.start)}–${hhmm(b.end)}`, el("strong", { class: "booking-code" }, b.code), b.field_name, b.name || "—",
      el("a", { href: `tel:${b.phone}`, class: "phone" }, phoneText(b.phone)),
      el("span", {}, el("span", { class: `status ${b.status}` }, T.booking_status[b.status] || b.status),
        b.status === "cancelled" ? el("span", { class: "hint reason" },
          b.cancel_reason ? `${T.cancel_reason_short}: ${b.cancel_reason}` : T.cancelled_by_citizen) : null),
      b.ticket_code ? el("strong", {}, b.ticket_code) : "—",
      b.status === "booked" ? button(T.cancel_booking, () => cancelBooking(b), "small danger") : "",
    ] };
  });
  const list = table([T.slot, T.booking_code, T.field, T.full_name, T.phone, T.status, T.ticket_issued, T.actions], rows,
    { empty: T.no_bookings, cls: "bookings" });
  for (const row of list.rows) if (row.cells.length > 1) row.lastElementChild.classList.add("no-print");
  $("bookings-body").replaceChildren(...[
    closed ? el("p", { class: "closed-day" }, fill(T.day_closed, { note: closed.note || T.no_note })) : null,
    summary, list].filter(Boolean));
  $("bookings-settings").replaceChildren(...[...bookableFields(fields), ...blackoutDays(days)].filter(Boolean));
}

function cancelBooking(b) {
  // The dialog is the confirmation: it names the booking, asks why, and says what follows.
  formDialog({
    title: fill(T.cancel_booking_title, { code: b.code }),
    intro: fill(T.cancel_booking_intro, {
      name: b.name || T.no_name, phone: phoneText(b.phone), field: b.field_name, time: hhmm(b.start), day: day(b.start) }),
    inputs: [{ name: "reason", label: T.cancel_reason, type: "textarea", maxlength: "300", hint: T.cancel_reason_hint }],
    submit: T.cancel_booking_confirm, submitClass: "primary danger",
    onSubmit: (v) => change(`/api/admin/bookings/${encodeURIComponent(b.code)}/cancel`, "POST", { reason: v.reason },
      fill(T.booking_cancelled, { code: b.code, phone: phoneText(b.phone) })),
  });
}

/** Which fields take bookings, and how (each field's dialog sets it). */
function bookableFields(fields) {
  const taking = fields.filter((f) => f.active && f.booking && f.booking.seats);
  return [el("h2", {}, T.bookable_fields),
    taking.length ? el("ul", { class: "bookable" }, taking.map((f) => el("li", {}, el("strong", {}, f.name), ": ",
      fill(T.booking_rules, { minutes: f.booking.slot_minutes, seats: f.booking.seats, days: f.booking.days_ahead }),
      f.hours.length ? ` (${f.hours.join(", ")})` : ` (${T.default_booking_hours})`))) : null,
    el("p", { class: "hint" }, taking.length ? T.bookable_hint : T.no_bookable_fields, " ",
      el("a", { href: "#fields" }, T.open_fields))];
}

/** The days the office takes no bookings (holidays, days off): add with a note, remove. */
function blackoutDays(days) {
  const rows = days.map((d) => [longDay(d.day), d.note || "—",
    button(T.delete, () => {
      if (window.confirm(fill(T.confirm_remove_blackout, { day: day(d.day) }))) {
        quick(`/api/admin/blackout-days/${d.day}`, "DELETE")();
      }
    }, "small danger")]);
  return [el("h2", {}, T.blackout_title), el("p", { class: "hint" }, T.blackout_hint),
    button(T.add_blackout, addBlackout, "primary"),
    table([T.day, T.note, T.actions], rows, { empty: T.no_blackout, cls: "blackout" })];
}

function addBlackout() {
  formDialog({
    title: T.add_blackout,
    inputs: [
      { name: "day", label: T.blackout_day, placeholder: "dd/mm/yyyy", inputmode: "numeric", required: true,
        hint: T.date_hint },
      { name: "note", label: T.note, placeholder: T.note_placeholder },
    ],
    onSubmit: async (v) => {
      const iso = parseDay(v.day);
      if (!iso) throw new Error(T.date_invalid);
      await change("/api/admin/blackout-days", "POST", { day: iso, note: v.note.trim() }, fill(T.blackout_added, { day: day(iso) }));
      // Bookings already made for that day stand: say so, so the admin can call those citizens.
      const { bookings } = await api(`/api/admin/bookings?date=${iso}`);
      const standing = bookings.filter((b) => b.status === "booked").length;
      if (standing) say(fill(T.blackout_has_bookings, { day: day(iso), count: standing }), "warn");
    },
  });
}
