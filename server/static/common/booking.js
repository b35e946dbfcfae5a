// Words and small rules about bookings, shared by the booking pages, the kiosk, the board and a
// ticket's page. Times are read as the server writes them (ISO 8601 with the office's offset):
// "2026-11-27T08:30:00+07:00" is 08:30 on 27/11 wherever the phone thinks it is.
import { api } from "/static/common/api.js";

/** The characters of a booking code: no 0/O, no 1/I (the server's CODE_ALPHABET). */
export const CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
export const CODE_LENGTH = 6;

const WEEKDAYS = ["Chủ nhật", "Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy"];

/** "2026-11-27T08:30:00+07:00" -> "08:30". */
export function hhmm(iso) {
  return typeof iso === "string" && iso.length >= 16 ? iso.slice(11, 16) : "";
}

/** "2026-11-27" (or a whole ISO time) -> {weekday: "Thứ Sáu", short: "27/11", long: "27/11/2026"}. */
export function dayParts(iso) {
  const [year, month, day] = String(iso).slice(0, 10).split("-").map(Number);
  const weekday = WEEKDAYS[new Date(Date.UTC(year, month - 1, day)).getUTCDay()];
  const dd = String(day).padStart(2, "0");
  const mm = String(month).padStart(2, "0");
  return { weekday, short: `${dd}/${mm}`, long: `${dd}/${mm}/${year}` };
}

/** "2026-11-27" + n days -> "2026-11-28" (calendar arithmetic, no time zone involved). */
export function addDays(isoDate, n) {
  const [year, month, day] = isoDate.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, day + n)).toISOString().slice(0, 10);
}

/** A booking's slot in words: "Thứ Sáu 27/11/2026, 08:30 – 09:00". */
export function slotText(start, end) {
  const day = dayParts(start);
  return `${day.weekday} ${day.long}, ${hhmm(start)}${end ? ` – ${hhmm(end)}` : ""}`;
}

/** The mark of a booked ticket, as the board, the kiosk and the ticket's page show it. */
export function bookedLabel(bookedStart) {
  return bookedStart ? `Đặt lịch ${hhmm(bookedStart)}` : "";
}

/** "k7m 2qx" -> "K7M2QX"; null unless it can be a booking code. */
export function normaliseCode(text) {
  const code = String(text || "").toUpperCase().replace(/[\s-]/g, "");
  if (code.length !== CODE_LENGTH) return null;
  return [...code].every((c) => CODE_ALPHABET.includes(c)) ? code : null;
}

/**
 * What a barcode scanner typed (or a person, ending with Enter): a booking code, the booking's page
 * address (its QR: "…/b/<token>"), a ticket's page (its QR: "…/t/<token>"), or nothing we know.
 */
export function readScan(text) {
  const trimmed = String(text || "").trim();
  const booking = trimmed.match(/\/b\/([A-Za-z0-9_-]{8,64})(?:[/?#]|$)/);
  if (booking) return { token: booking[1] };
  if (/\/t\/[A-Za-z0-9_-]{8,64}(?:[/?#]|$)/.test(trimmed)) return { ticket: true };
  const code = normaliseCode(trimmed);
  return code ? { code } : null;
}

/** Does a field take bookings, by its settings as GET /api/fields gives them (null: not said). */
function saysBookable(field) {
  if (!field || !("booking" in field)) return null;
  const seats = field.booking && field.booking.seats;
  return Number.isInteger(seats) && seats > 0;
}

/**
 * The fields that take bookings, each with `booking` ({slot_minutes, seats, days_ahead} when the
 * server lists them) and `today` (the office's date, when it had to ask). A server whose field list
 * does not carry the booking settings is asked per field: `422 field_not_bookable` means no.
 */
export async function bookableFields(fields) {
  if (fields.some((f) => saysBookable(f) !== null)) return fields.filter((f) => saysBookable(f));
  const answers = await Promise.all(fields.map(async (field) => {
    try {
      const day = await api(`/api/booking/slots?field=${encodeURIComponent(field.code)}`);
      return { ...field, today: day.date, firstDay: day };
    } catch (err) {
      if (err.status === 422 || err.status === 404) return null;
      throw err;
    }
  }));
  return answers.filter(Boolean);
}
