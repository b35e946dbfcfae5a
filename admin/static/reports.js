// Reports for a chosen period: totals, charts, tables, the reasons and comments citizens left,
// and the CSV and XLSX downloads. Numbers and dates are written the Vietnamese way (format.js).
// A province user may also ask for every office at once (`office=all`): a table by office.
import { api, el, officeUrl } from "/static/common/api.js";
import { barChart, columnChart } from "./charts.js";
import { addDays, dateTime, day, minutes, monthStart, number, parseDay, percent, today } from "./format.js";
import { $, T, fill, table, wireDateField } from "./ui.js";

const form = $("report-form");
const officeZone = document.body.dataset.timezone || "Asia/Ho_Chi_Minh";

function setRange(start, end) {
  form.from.value = day(start);
  form.to.value = day(end);
}

const PRESETS = {
  today: (t) => [t, t],
  yesterday: (t) => [addDays(t, -1), addDays(t, -1)],
  week: (t) => [addDays(t, -6), t],
  month: (t) => [monthStart(t), t],
  "last-month": (t) => [monthStart(t, -1), addDays(monthStart(t), -1)],
};

let province = false;

/** `province`: the user may see every office's report; `office`: the office on screen. */
export function initReports(options = {}) {
  province = Boolean(options.province);
  $("report-scope").hidden = !province;
  if (options.office) $("report-this-office").textContent = fill(T.scope_this, { name: options.office.name });
  if (form.from.value) return;
  form.office.addEventListener("change", () => renderReports());
  setRange(...PRESETS.week(today(officeZone)));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    renderReports();
  });
  // dd/mm/yyyy typed, or picked on the browser's own calendar
  for (const button of form.querySelectorAll("button.calendar")) {
    wireDateField(form[button.dataset.for], button, form.querySelector(`input.picker[data-for="${button.dataset.for}"]`));
  }
  for (const button of form.querySelectorAll("[data-preset]")) {
    button.addEventListener("click", () => {
      setRange(...PRESETS[button.dataset.preset](today(officeZone)));
      renderReports();
    });
  }
}

/** The period the form asks for, or null after saying what is wrong with it. */
function period() {
  const error = $("report-error");
  const start = parseDay(form.from.value);
  const end = parseDay(form.to.value);
  let problem = "";
  if (!start || !end) problem = T.date_invalid;
  else if (start > end) problem = T.date_order;
  for (const [input, ok] of [[form.from, start], [form.to, end]]) input.toggleAttribute("aria-invalid", !ok);
  error.textContent = problem;
  error.hidden = !problem;
  if (problem) return null;
  form.from.value = day(start);
  form.to.value = day(end);
  return { from: start, to: end };
}

const mins = (seconds) => minutes(seconds, T.minutes_short);
const share = (r) => percent(r.ratings.satisfied_share);
const count = (value) => number(value ?? null);

function satisfaction(rows, label) {
  return rows.filter((r) => r.ratings.count).map((r) => ({
    label: label(r), value: r.ratings.satisfied_share,
    text: `${share(r)} · ${fill(T.ratings_count, { count: count(r.ratings.count) })}`,
  }));
}

const SOURCES = ["tablet", "phone", "unknown"];

export async function renderReports() {
  const range = period();
  if (!range) return;
  const all = province && form.office.value === "all";
  const query = new URLSearchParams(all ? { ...range, office: "all" } : range).toString();
  // the page's office, as every call of the page (downloads are plain links, not api())
  $("download-csv").href = officeUrl(`/api/reports/summary.csv?${query}`);
  $("download-xlsx").href = officeUrl(`/api/reports/summary.xlsx?${query}`);
  const body = $("reports-body");
  const report = await api(`/api/reports/summary?${query}`);
  const when = report.from === report.to ? fill(T.report_day, { day: day(report.from) })
    : fill(T.report_period, { start: day(report.from), end: day(report.to) });
  $("report-period").textContent = all ? `${when} · ${T.report_all}` : when;
  const t = report.totals;
  const cards = el("div", { class: "cards" },
    [[T.issued, count(t.issued)], [T.served, count(t.served)], [T.no_show, count(t.no_show)],
     [T.wait_mean, mins(t.waiting_time_s.mean)], [T.service_mean, mins(t.service_time_s.mean)],
     [T.satisfied, share(t)]].map(([label, value]) => el("div", { class: "stat card" },
      el("span", {}, label), el("strong", {}, value))));
  if (!t.issued) {
    const booked = report.bookings && report.bookings.totals.made;
    body.replaceChildren(cards, el("p", { class: "hint" }, T.no_data), booked ? bookingsSection(report, all) : null);
    return;
  }
  if (all) {
    body.replaceChildren(cards, sourcesLine(t), ...everyOffice(report), bookingsSection(report, all));
    return;
  }
  const hours = [];
  const byHour = Object.fromEntries(report.by_hour.map((h) => [h.hour, h.issued]));
  const first = Math.min(7, ...report.by_hour.map((h) => h.hour));
  const last = Math.max(17, ...report.by_hour.map((h) => h.hour));
  for (let h = first; h <= last; h += 1) hours.push({ label: `${h}`, value: byHour[h] || 0, text: count(byHour[h] || 0) });

  const charts = el("div", { class: "charts" },
    columnChart(T.chart_hours, hours),
    barChart(T.chart_wait, report.by_field.filter((f) => f.issued).map((f) => ({
      label: f.name, value: f.waiting_time_s.mean || 0, text: mins(f.waiting_time_s.mean) }))),
    barChart(T.chart_no_show, report.by_field.filter((f) => f.issued).map((f) => ({
      label: f.name, value: f.no_show, text: count(f.no_show) })), { cls: "bar warn" }),
    barChart(T.chart_counter, satisfaction(report.by_counter, (c) => c.name), { max: 1, cls: "bar ok" }),
    barChart(T.chart_clerk, satisfaction(report.by_clerk, (c) => c.name || c.username), { max: 1, cls: "bar ok" }));

  const head = [T.name, T.issued, T.served, T.no_show, T.wait_mean, T.wait_p90, T.service_mean, T.ratings, T.satisfied];
  const line = (name, r) => [name, count(r.issued), count(r.served), count(r.no_show),
    mins(r.waiting_time_s.mean), mins(r.waiting_time_s.p90), mins(r.service_time_s.mean),
    count(r.ratings.count), share(r)];
  const total = (cells) => ({ cells, class: "total" });
  const sourceHeads = SOURCES.map((s) => T[`source_${s}`]);
  const sources = (r) => SOURCES.map((s) => count(r.rating_sources[s]));
  const noIssued = (cells) => cells.filter((_, i) => i !== 1); // counters and clerks issue nothing

  body.replaceChildren(cards,
    sourcesLine(t),
    charts,
    el("h2", {}, T.by_field), table(head, [...report.by_field.map((r) => line(r.name, r)),
      total(line(T.total, t))], { cls: "figures" }),
    el("h2", {}, T.by_counter), table(noIssued(head), [...report.by_counter.map((r) => noIssued(line(r.name, r))),
      total(noIssued(line(T.total, t)))], { cls: "figures" }),
    el("h2", {}, T.by_clerk), table([...noIssued(head), ...sourceHeads], [
      ...report.by_clerk.map((r) => [...noIssued(line(r.name || r.username, r)), ...sources(r)]),
      total([...noIssued(line(T.total, t)), ...sources(t)])], { cls: "figures" }),
    bookingsSection(report, false),
    reasonsSection(report),
    commentsSection(report),
    ...byDay(report));
}

function sourcesLine(t) {
  return el("p", { class: "sources" }, `${T.sources}: `,
    SOURCES.map((s) => `${T[`source_${s}`]} ${count(t.rating_sources[s])}`).join(" · "));
}

function byDay(report) {
  const t = report.totals;
  return [el("h2", {}, T.by_day), table([T.day, T.issued, T.served, T.no_show, T.wait_mean, T.service_mean, T.ratings, T.satisfied], [
    ...report.by_day.map((d) => [day(d.day), count(d.issued), count(d.served), count(d.no_show), mins(d.mean_wait_s),
      mins(d.mean_service_s), count(d.ratings), percent(d.satisfied_share)]),
    { cells: [T.total, count(t.issued), count(t.served), count(t.no_show), mins(t.waiting_time_s.mean),
      mins(t.service_time_s.mean), count(t.ratings.count), share(t)], class: "total" }], { cls: "figures" })];
}

/** Every office of the province side by side (each name opens that office's own report), then by day. */
function everyOffice(report) {
  const t = report.totals;
  const head = [T.name, T.issued, T.served, T.no_show, T.wait_mean, T.wait_p90, T.service_mean, T.ratings, T.satisfied];
  const line = (name, r) => [name, count(r.issued), count(r.served), count(r.no_show),
    mins(r.waiting_time_s.mean), mins(r.waiting_time_s.p90), mins(r.service_time_s.mean),
    count(r.ratings.count), share(r)];
  const link = (r) => el("a", { href: `/o/${encodeURIComponent(r.slug)}/admin/#reports` }, r.name);
  return [
    el("h2", {}, T.by_office),
    el("div", { class: "scroll" }, table(head, [...report.by_office.map((r) => line(link(r), r)),
      { cells: line(`${T.total} (${T.whole_province})`, t), class: "total" }], { cls: "figures by-office" })),
    ...byDay(report)];
}

/**
 * Online bookings of the period, per field (and per office for every office): made, checked in, missed,
 * cancelled, still ahead, and how long those who came waited from their slot's start until called.
 */
function bookingsSection(report, all) {
  const bookings = report.bookings;
  const section = [el("h2", { id: "bookings-report" }, T.bookings_report)];
  if (!bookings || !bookings.totals.made) return el("div", { class: "bookings-report" }, section, el("p", { class: "hint" }, T.no_bookings_report));
  const head = [T.name, T.bookings_made, T.bookings_checked_in, T.bookings_missed, T.bookings_cancelled, T.bookings_ahead,
    T.wait_from_slot_mean, T.wait_from_slot_median, T.wait_from_slot_p90];
  const line = (name, r) => [name, count(r.made), count(r.checked_in), count(r.missed), count(r.cancelled), count(r.booked),
    mins(r.wait_from_slot_s.mean), mins(r.wait_from_slot_s.median), mins(r.wait_from_slot_s.p90)];
  const total = { cells: line(`${T.total} (${all ? T.whole_province : T.whole_office})`, bookings.totals), class: "total" };
  const tables = [];
  if (all && bookings.by_office) {
    const link = (r) => el("a", { href: `/o/${encodeURIComponent(r.slug)}/admin/#reports` }, r.name);
    tables.push(el("h3", {}, T.by_office), el("div", { class: "scroll" }, table(head,
      [...bookings.by_office.map((r) => line(link(r), r)), total], { cls: "figures bookings-by-office" })));
  }
  else {  // every office's fields would repeat the same names: the offices are the rows then
    tables.push(el("h3", {}, T.by_field), el("div", { class: "scroll" }, table(head,
      [...bookings.by_field.map((r) => line(r.name, r)), total], { cls: "figures bookings-by-field" })));
  }
  return el("div", { class: "bookings-report" }, section, el("p", { class: "hint" }, T.bookings_report_hint), tables);
}

/** How often each reason was named, per field, counter and clerk: only rows where some were. */
function reasonsSection(report) {
  const reasons = report.reasons;
  const lowest = report.rating_levels[report.rating_levels.length - 1];
  const named = (r) => reasons.some((x) => r.reasons[x.code]) || r.ratings.by_level[lowest.score];
  const cells = (label, r) => [label, count(r.ratings.by_level[lowest.score]), ...reasons.map((x) => count(r.reasons[x.code]))];
  const rows = [];
  for (const [title, key, name] of [[T.by_field, "by_field", (r) => r.name], [T.by_counter, "by_counter", (r) => r.name],
    [T.by_clerk, "by_clerk", (r) => r.name || r.username]]) {
    const group = report[key].filter(named);
    if (!group.length) continue;
    rows.push({ cells: [title, ...Array(reasons.length + 1).fill("")], class: "group" });
    rows.push(...group.map((r) => cells(name(r), r)));
  }
  const section = [el("h2", {}, T.reasons_title)];
  if (!rows.length) return el("div", {}, section, el("p", { class: "hint" }, T.no_reasons));
  rows.push({ cells: cells(`${T.total} (${T.whole_office})`, report.totals), class: "total" });
  return el("div", { class: "reasons" }, section, el("p", { class: "hint" }, T.reasons_hint),
    el("div", { class: "scroll" }, table([T.name, lowest.name, ...reasons.map((x) => x.name)], rows, { cls: "figures" })));
}

/** Every comment of the period, newest first, in the office's time. */
function commentsSection(report) {
  const names = Object.fromEntries(report.reasons.map((r) => [r.code, r.name]));
  const rows = [...report.comments].reverse().map((c) => [
    dateTime(c.at), c.ticket, c.counter_name || (c.counter ?? "—"), c.clerk_name || c.clerk || "—", c.field_name,
    c.level, c.reasons.map((code) => names[code] || code).join("; ") || "—", T[`source_${c.source || "unknown"}`],
    el("span", { class: "comment-text" }, c.comment)]);
  return el("div", { class: "comments" }, el("h2", {}, `${T.comments_title} (${count(report.comments.length)})`),
    table([T.time, T.ticket, T.counter, T.clerk, T.field, T.level, T.reasons, T.source, T.comment], rows,
      { empty: T.no_comments }));
}
