// Shared by every page: JSON calls in the API's error shape, the Socket.IO
// connection (which reconnects forever and resyncs from `state`), device
// pairing from a `?pair=CODE` link, links between surfaces, and Vietnamese
// wording of durations.
//
// Offices: a page served for one office of a province carries its slug on
// <html data-office="…">. Then API calls go to /o/<slug>/api/…, the socket names
// the office in its query, and links to other surfaces stay in the office.
// With no slug everything is as in a one-office install.

/** The office this page belongs to ("" for the default office). */
export const OFFICE = (document.documentElement.dataset.office || "").trim();

const OFFICE_PATH = /^\/(api|kiosk|display|counter|rating|admin|book)(\/|$|\?)/;

/**
 * The one place that builds a link to another page or API path of this office:
 * "/kiosk" -> "/o/<slug>/kiosk" when the page belongs to an office; paths that belong to
 * no office (/t/<token>, /qr/…, /static/…) are left as they are.
 */
export function officeUrl(path) {
  if (!OFFICE || !OFFICE_PATH.test(path)) return path;
  return `/o/${encodeURIComponent(OFFICE)}${path}`;
}

/** The picture of a ticket's QR code (its track page), drawn by the server. */
export function qrUrl(token) {
  return `/qr/${encodeURIComponent(token)}.svg`;
}

/** A ticket's own page (the one the QR opens). */
export function ticketPageUrl(token) {
  return `/t/${encodeURIComponent(token)}`;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let csrfToken = null;

/** Remember the CSRF token that login or /api/auth/me returned (browser sessions need it). */
export function setCsrfToken(token) {
  csrfToken = token;
}

/** Call the API; resolves to the JSON body, rejects with an ApiError carrying a Vietnamese message. */
export async function api(path, { method = "GET", body, headers = {}, timeoutMs = 10000 } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const init = { method, headers: { ...headers }, credentials: "same-origin", signal: controller.signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET" && csrfToken) init.headers["X-CSRFToken"] = csrfToken;
  let response;
  try {
    response = await fetch(path.startsWith("/api/") ? officeUrl(path) : path, init);
  } catch (err) {
    throw new ApiError(0, "network", "Mất kết nối tới máy chủ. Vui lòng thử lại.");
  } finally {
    clearTimeout(timer);
  }
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("application/json") ? await response.json() : null;
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || "error", error.message || "Có lỗi xảy ra.");
  }
  return data;
}

/**
 * Connect to the server's Socket.IO endpoint; `handlers` maps event names to functions.
 * `office` names the office to listen to when it is not the page's own (a booking's or a
 * ticket's page, which belong to no office, follow the office of what they show).
 */
export function connect(handlers = {}, { auth, office, query } = {}) {
  // socket.io.min.js (vendored) defines the global `io`.
  const options = { transports: ["websocket", "polling"], auth, reconnectionDelayMax: 5000 };
  if (office || OFFICE) options.query = { office: office || OFFICE };
  if (query) options.query = { ...(options.query || {}), ...query };
  const socket = window.io(options);
  for (const [event, handler] of Object.entries(handlers)) socket.on(event, handler);
  return socket;
}

/** If the page was opened with ?pair=CODE, pair this device and drop the code from the address bar. */
export async function pairFromUrl() {
  const url = new URL(window.location.href);
  const code = url.searchParams.get("pair");
  if (!code) return null;
  const result = await api("/api/devices/pair", { method: "POST", body: { code } });
  url.searchParams.delete("pair");
  window.history.replaceState(null, "", url.pathname + url.search);
  return result.device;
}

/** 0 -> "Không phải chờ", 150 -> "khoảng 3 phút", 5400 -> "khoảng 1 giờ 30 phút". */
export function waitText(seconds) {
  if (!seconds || seconds < 30) return "Không phải chờ";
  const minutes = Math.max(1, Math.round(seconds / 60));
  if (minutes < 60) return `khoảng ${minutes} phút`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `khoảng ${hours} giờ ${rest} phút` : `khoảng ${hours} giờ`;
}

/** Create an element with text (never HTML): everything user-supplied goes through here. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const PRIORITY_NAMES = {
  elderly: "Người cao tuổi",
  disabled: "Người khuyết tật",
  pregnant: "Phụ nữ mang thai hoặc có con nhỏ",
  merit: "Người có công với cách mạng",
};
