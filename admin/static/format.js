// Numbers, shares and dates as Vietnamese writes them (44,3 · 1.234 · 93,6 % · 25/11/2026), whatever
// the browser's own locale; the English page gets 44.3 · 1,234 · 93.6%. Dates are always dd/mm/yyyy.
const NBSP = "\u00a0"; // keeps "44,3 phút" and "93,6 %" on one line

const english = () => document.documentElement.lang === "en";

/** 1234.56 -> "1.234,6" (digits: decimals kept); null -> "—". */
export function number(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "—";
  const fixed = Math.abs(Number(value)).toFixed(digits);
  const [whole, fraction] = fixed.split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, english() ? "," : ".");
  const sign = Number(value) < 0 && Number(fixed) !== 0 ? "-" : "";
  return sign + grouped + (fraction ? (english() ? "." : ",") + fraction : "");
}

/** 0.9361 -> "93,6 %". */
export function percent(share) {
  if (share === null || share === undefined) return "—";
  return `${number(share * 100, 1)}${english() ? "" : NBSP}%`;
}

/** Seconds -> "44,3 phút" (`unit`: the word for minutes on this page). */
export function minutes(seconds, unit) {
  if (seconds === null || seconds === undefined) return "—";
  return `${number(seconds / 60, 1)}${NBSP}${unit}`;
}

/** "2026-11-25" (or an ISO time) -> "25/11/2026". */
export function day(iso) {
  const [y, m, d] = iso.slice(0, 10).split("-");
  return `${d}/${m}/${y}`;
}

/** An ISO time with offset, as the server wrote it in the office's time -> "25/11/2026 08:14".
 * Read from the text, not through Date: the PC's own clock and time zone play no part. */
export function dateTime(iso) {
  return `${day(iso)} ${iso.slice(11, 16)}`;
}

/** "25/11/2026", "5/1/2026", "05-01-2026", "5.1.2026" -> "2026-01-05"; anything else -> null. */
export function parseDay(text) {
  const match = /^\s*(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})\s*$/.exec(text || "");
  if (!match) return null;
  const [d, m, y] = match.slice(1).map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  return date.toISOString().slice(0, 10);
}

/** Today's date in the office's time zone, as YYYY-MM-DD. */
export function today(timeZone) {
  const parts = {};
  let format;
  try {
    format = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
  } catch (err) { // a zone this browser does not know: the PC's own date is the best left
    format = new Intl.DateTimeFormat("en-US", { year: "numeric", month: "2-digit", day: "2-digit" });
  }
  for (const part of format.formatToParts(new Date())) parts[part.type] = part.value;
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/** "2026-11-25" plus `days` (may be negative). */
export function addDays(iso, days) {
  const date = new Date(`${iso}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

/** The first day of the month `months` away from the month of `iso`. */
export function monthStart(iso, months = 0) {
  const date = new Date(`${iso.slice(0, 7)}-01T00:00:00Z`);
  date.setUTCMonth(date.getUTCMonth() + months);
  return date.toISOString().slice(0, 10);
}
