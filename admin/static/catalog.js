// What the hall offers: fields (lĩnh vực), counters and the board's announcements.
import { api, el } from "/static/common/api.js";
import { $, T, badge, button, change, fill, formDialog, optionalInt, quick, table } from "./ui.js";

// ----- fields --------------------------------------------------------------------------
/** Seats, slot length and days ahead of a field that takes bookings; {} when it takes none. */
const BOOKING_DEFAULTS = { slot_minutes: 30, seats: 2, days_ahead: 6 };

function fieldInputs(f = {}) {
  const booking = f.booking || {};
  const takes = Boolean(booking.seats);
  const value = (key) => (takes ? booking[key] : BOOKING_DEFAULTS[key]);
  return [
    // short inputs side by side, so the dialog with its booking settings fits a 768-pixel-high screen
    { type: "row", cls: "name-prefix", inputs: [
      { name: "name", label: T.name, value: f.name, required: true },
      { name: "prefix", label: T.prefix, value: f.prefix, required: true },
    ] },
    { name: "hint", label: T.hint, value: f.hint },
    { name: "hours", label: T.hours, value: (f.hours || []).join(", "), hint: T.hours_hint,
      placeholder: T.hours_placeholder },
    { type: "row", inputs: [
      { name: "daily_cap", label: T.daily_cap, type: "number", min: "1", value: f.daily_cap ?? "" },
      { name: "minutes", label: T.minutes, type: "number", min: "1", value: f.minutes ?? "" },
      { name: "icon", label: T.icon, value: f.icon ?? "" },
    ] },
    { type: "fieldset", label: T.booking_title, hint: T.booking_hint, cls: "booking-settings", inputs: [
      { name: "booking_on", type: "checkbox", label: T.booking_on, value: takes },
      { name: "slot_minutes", label: T.slot_minutes, type: "number", min: "5", max: "240", value: value("slot_minutes"),
        when: "booking_on", required: true },
      { name: "seats", label: T.seats, type: "number", min: "1", max: "999", value: value("seats"), when: "booking_on",
        required: true },
      { name: "days_ahead", label: T.days_ahead, type: "number", min: "0", max: "30", value: value("days_ahead"),
        when: "booking_on", required: true, hint: T.days_ahead_hint },
    ] },
  ];
}

/** "30 phút · 4 người" over "đặt trước 6 ngày" for the fields table; "—" for a field that takes no bookings. */
function bookingSummary(booking) {
  if (!booking || !booking.seats) return "—";
  return el("span", { class: "booking-cell" },
    fill(T.booking_summary, { minutes: booking.slot_minutes, seats: booking.seats }), el("br"),
    el("span", { class: "hint" }, fill(T.booking_days, { days: booking.days_ahead })));
}

function fieldBody(v) {
  return {
    name: v.name, prefix: v.prefix.trim().toUpperCase(), hint: v.hint,
    hours: v.hours.split(/[,;\n]/).map((s) => s.trim()).filter(Boolean),
    daily_cap: optionalInt(v.daily_cap), minutes: optionalInt(v.minutes), icon: v.icon.trim() || null,
    booking: v.booking_on ? { slot_minutes: optionalInt(v.slot_minutes), seats: optionalInt(v.seats),
      days_ahead: optionalInt(v.days_ahead) ?? 0 } : {},
  };
}

export async function renderFields() {
  const { fields } = await api("/api/admin/fields");
  const codes = fields.map((f) => f.code);
  const move = (index, step) => {
    const order = [...codes];
    const [item] = order.splice(index, 1);
    order.splice(index + step, 0, item);
    return quick("/api/admin/fields/order", "PUT", { codes: order });
  };
  const rows = fields.map((f, i) => [
    el("strong", {}, f.prefix), el("span", {}, el("span", { class: "name" }, f.name), el("br"), el("span", { class: "hint" }, f.hint)),
    f.hours.length ? f.hours.join(", ") : T.all_day, f.daily_cap ? String(f.daily_cap) : "—",
    f.minutes ? String(f.minutes) : "—", bookingSummary(f.booking), badge(f.active),
    el("span", { class: "buttons" },
      button(T.edit, () => formDialog({ title: fill(T.edit_field, { name: f.name }), inputs: fieldInputs(f),
        onSubmit: (v) => change(`/api/admin/fields/${f.code}`, "PATCH", fieldBody(v)) })),
      button(f.active ? T.disable : T.enable, quick(`/api/admin/fields/${f.code}/${f.active ? "disable" : "enable"}`)),
      i > 0 ? button("↑", move(i, -1), "tiny") : null,
      i < fields.length - 1 ? button("↓", move(i, 1), "tiny") : null,
      f.has_tickets ? null : button(T.delete, () => {
        if (window.confirm(fill(T.confirm_delete_field, { name: f.name }))) quick(`/api/admin/fields/${f.code}`, "DELETE")();
      }, "small danger"))
  ]);
  $("fields-body").replaceChildren(
    button(T.add, () => formDialog({ title: T.add_field, inputs: fieldInputs(),
      onSubmit: (v) => change("/api/admin/fields", "POST", fieldBody(v)) }), "primary"),
    table([T.prefix, T.name, T.hours, T.daily_cap, T.minutes, T.booking_column, T.status, T.actions], rows));
}

// ----- counters ------------------------------------------------------------------------
export async function renderCounters() {
  const [{ counters }, { fields }] = await Promise.all([api("/api/admin/counters"), api("/api/admin/fields")]);
  const names = Object.fromEntries(fields.map((f) => [f.code, f.name]));
  const checklist = (served = []) => [
    ...served.map((code) => ({ value: code, label: names[code] || code, checked: true })),
    ...fields.filter((f) => !served.includes(f.code)).map((f) => ({ value: f.code, label: f.name, checked: false })),
  ];
  const rows = counters.map((c) => [
    el("strong", {}, String(c.number)), c.name,
    el("ol", { class: "compact" }, c.fields.map((code) => el("li", {}, names[code] || code))),
    T[`state_${c.state}`] || c.state, badge(c.active),
    el("span", { class: "buttons" },
      button(T.edit, () => formDialog({
        title: fill(T.edit_counter, { number: c.number }),
        inputs: [{ name: "name", label: T.name, value: c.name, required: true },
                 { name: "fields", label: T.fields, type: "checklist", options: checklist(c.fields) }],
        onSubmit: (v) => change(`/api/admin/counters/${c.number}`, "PATCH", v),
      })),
      button(c.active ? T.disable : T.enable, quick(`/api/admin/counters/${c.number}/${c.active ? "disable" : "enable"}`))),
  ]);
  const next = Math.max(0, ...counters.map((c) => c.number)) + 1;
  $("counters-body").replaceChildren(
    button(T.add, () => formDialog({
      title: T.add_counter,
      inputs: [{ name: "number", label: T.number, type: "number", min: "1", value: next, required: true },
               { name: "name", label: T.name, value: `${T.counter} ${next}`, required: true },
               { name: "fields", label: T.fields, type: "checklist", options: checklist() }],
      onSubmit: (v) => change("/api/admin/counters", "POST", { ...v, number: optionalInt(v.number) }),
    }), "primary"),
    table([T.number, T.name, T.fields, T.state, T.status, T.actions], rows));
}

// ----- announcements -------------------------------------------------------------------
export async function renderAnnouncements() {
  const { announcements } = await api("/api/admin/announcements");
  const ids = announcements.map((a) => a.id);
  const move = (index, step) => {
    const order = [...ids];
    const [item] = order.splice(index, 1);
    order.splice(index + step, 0, item);
    return quick("/api/admin/announcements/order", "PUT", { ids: order });
  };
  const rows = announcements.map((a, i) => [
    el("span", { class: "announcement-text" }, a.text), badge(a.active),
    el("span", { class: "buttons" },
      button(T.edit, () => formDialog({ title: T.edit_announcement,
        inputs: [{ name: "text", label: T.text, type: "textarea", value: a.text }],
        onSubmit: (v) => change(`/api/admin/announcements/${a.id}`, "PATCH", { text: v.text }) })),
      button(a.active ? T.disable : T.enable, quick(`/api/admin/announcements/${a.id}`, "PATCH", { active: !a.active })),
      i > 0 ? button("↑", move(i, -1), "tiny") : null,
      i < announcements.length - 1 ? button("↓", move(i, 1), "tiny") : null),
  ]);
  $("announcements-body").replaceChildren(
    el("p", { class: "hint" }, T.announcement_hint),
    button(T.add, () => formDialog({ title: T.add_announcement, inputs: [{ name: "text", label: T.text, type: "textarea" }],
      onSubmit: (v) => change("/api/admin/announcements", "POST", { text: v.text }) }), "primary"),
    table([T.text, T.status, T.actions], rows));
}
