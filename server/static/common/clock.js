// The office's date and time in Vietnamese ("Thứ Tư, 25/11/2026 08:15"), from the
// server's clock and UTC offset (the `at` of a state snapshot), so a TV or kiosk
// with a wrong clock or time zone still shows the office's time.

const WEEKDAYS = ["Chủ Nhật", "Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy"];
const pad = (n) => String(n).padStart(2, "0");

/** "Thứ Tư, 25/11/2026 08:15" for a moment (ms since epoch) at a UTC offset in minutes. */
export function vietnameseDateTime(ms, offsetMin) {
  const d = new Date(ms + offsetMin * 60000);  // read with getUTC* = the office's wall clock
  return `${WEEKDAYS[d.getUTCDay()]}, ${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} `
    + `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/** Keep `node` showing the office's time; call the returned function with each state's `at`. */
export function startClock(node) {
  const clock = { skewMs: 0, offsetMin: 7 * 60 };
  const tick = () => { node.textContent = vietnameseDateTime(Date.now() + clock.skewMs, clock.offsetMin); };
  setInterval(tick, 1000);
  tick();
  return function syncClock(at) {
    const serverMs = Date.parse(at || "");
    if (Number.isNaN(serverMs)) return;
    clock.skewMs = serverMs - Date.now();
    const match = /([+-])(\d\d):?(\d\d)$/.exec(at);
    if (match) clock.offsetMin = (match[1] === "-" ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3]));
    tick();
  };
}
