// Reports for a chosen period: totals, charts, tables, and the CSV and XLSX downloads.
import { api, el } from "/static/common/api.js";
import { barChart, columnChart } from "./charts.js";
import { $, T, fill, table } from "./ui.js";

const form = $("report-form");

function isoDay(date) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 10);
}

export function initReports() {
  if (form.from.value) return;
  const today = new Date();
  form.to.value = isoDay(today);
  form.from.value = isoDay(new Date(today.getTime() - 6 * 86400000));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    renderReports();
  });
}

const minutes = (seconds) => (seconds == null ? null : Math.round(seconds / 6) / 10);
const minutesText = (seconds) => (seconds == null ? "—" : `${minutes(seconds)} ${T.minutes_short}`);
const share = (r) => (r.ratings.satisfied_share == null ? "—" : `${Math.round(r.ratings.satisfied_share * 100)}%`);

function satisfaction(rows, label) {
  return rows.filter((r) => r.ratings.count).map((r) => ({
    label: label(r), value: r.ratings.satisfied_share,
    text: `${share(r)} · ${fill(T.ratings_count, { count: r.ratings.count })}`,
  }));
}

export async function renderReports() {
  const query = new URLSearchParams({ from: form.from.value, to: form.to.value }).toString();
  $("download-csv").href = `/api/reports/summary.csv?${query}`;
  $("download-xlsx").href = `/api/reports/summary.xlsx?${query}`;
  const body = $("reports-body");
  const report = await api(`/api/reports/summary?${query}`);
  const t = report.totals;
  const cards = el("div", { class: "cards" },
    [[T.issued, t.issued], [T.served, t.served], [T.no_show, t.no_show],
     [T.wait_mean, minutesText(t.waiting_time_s.mean)], [T.service_mean, minutesText(t.service_time_s.mean)],
     [T.satisfied, share(t)]].map(([label, value]) => el("div", { class: "stat card" },
      el("span", {}, label), el("strong", {}, String(value)))));
  if (!t.issued) {
    body.replaceChildren(cards, el("p", { class: "hint" }, T.no_data));
    return;
  }
  const hours = [];
  const byHour = Object.fromEntries(report.by_hour.map((h) => [h.hour, h.issued]));
  const first = Math.min(7, ...report.by_hour.map((h) => h.hour));
  const last = Math.max(17, ...report.by_hour.map((h) => h.hour));
  for (let h = first; h <= last; h += 1) hours.push({ label: `${h}`, value: byHour[h] || 0 });

  const charts = el("div", { class: "charts" },
    columnChart(T.chart_hours, hours),
    barChart(T.chart_wait, report.by_field.filter((f) => f.issued).map((f) => ({
      label: f.name, value: f.waiting_time_s.mean || 0, text: minutesText(f.waiting_time_s.mean) }))),
    barChart(T.chart_no_show, report.by_field.filter((f) => f.issued).map((f) => ({
      label: f.name, value: f.no_show, text: String(f.no_show) })), { cls: "bar warn" }),
    barChart(T.chart_counter, satisfaction(report.by_counter, (c) => c.name), { max: 1, cls: "bar ok" }),
    barChart(T.chart_clerk, satisfaction(report.by_clerk, (c) => c.name || c.username), { max: 1, cls: "bar ok" }));

  const head = [T.name, T.issued, T.served, T.no_show, T.wait_mean, T.wait_p90, T.service_mean, T.ratings, T.satisfied];
  const line = (name, r) => [name, String(r.issued ?? "—"), String(r.served), String(r.no_show),
    minutesText(r.waiting_time_s.mean), minutesText(r.waiting_time_s.p90), minutesText(r.service_time_s.mean),
    String(r.ratings.count), share(r)];
  body.replaceChildren(cards, charts,
    el("h2", {}, T.by_field), table(head, report.by_field.map((r) => line(r.name, r))),
    el("h2", {}, T.by_counter), table(head, report.by_counter.map((r) => line(r.name, r))),
    el("h2", {}, T.by_clerk), table(head, report.by_clerk.map((r) => line(r.name || r.username, r))));
}
