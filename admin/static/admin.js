// The admin console's shell: login, the section menu, today's overview, the office,
// users and devices. Fields, counters and announcements are in catalog.js; online bookings in bookings.js;
// reports in reports.js; the province's offices and the office switcher in offices.js.
//
// Every section acts in the page's office: /o/<slug>/admin/ is that office's admin. An office's
// admin who logs in on another office's address lands on their own; province users stay where
// they are and switch office from the top bar.
import { OFFICE, PRIORITY_NAMES, api, el, setCsrfToken } from "/static/common/api.js";
import { initBookings, renderBookings } from "./bookings.js";
import { renderAnnouncements, renderCounters, renderFields } from "./catalog.js";
import { adminUrl, initSwitcher, renderOffices } from "./offices.js";
import { initReports, renderReports } from "./reports.js";
import { $, T, badge, button, change, fill, formDialog, localTime, onChange, quick, say, table } from "./ui.js";

let me = null;
let here = null;  // the office this page administers: {slug, name, …}

const SECTIONS = {
  overview: renderOverview, offices: () => renderOffices(here), office: renderOffice, fields: renderFields,
  counters: renderCounters, users: renderUsers, devices: renderDevices, announcements: renderAnnouncements,
  bookings: renderBookings, reports: renderReports,
};
const PROVINCE_ONLY = new Set(["offices"]);
const ROLES = { clerk: T.role_clerk, admin: T.role_admin, province: T.role_province };

async function start() {
  try {
    const result = await api("/api/auth/me");
    await enter(result.user, result.csrf_token, result.office);
  } catch (err) {
    if (err.status === 401) return showLogin();
    say(err.message, "error");
  }
}

function showLogin() {
  $("app").hidden = true;
  $("login-view").hidden = false;
  $("logout").hidden = true;
  $("login-form").username.focus();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  $("login-error").hidden = true;
  try {
    const result = await api("/api/auth/login", {
      method: "POST", body: { username: form.username.value, password: form.password.value },
    });
    form.password.value = "";
    await enter(result.user, result.csrf_token, result.office);
  } catch (err) {
    $("login-error").textContent = err.message;
    $("login-error").hidden = false;
  }
});

$("logout").addEventListener("click", async () => {
  try { await api("/api/auth/logout", { method: "POST" }); } catch (err) { /* logged out anyway */ }
  window.location.reload();
});

/** `office`: the user's own office ({slug, name}), null for a province user. */
async function enter(user, csrf, office) {
  setCsrfToken(csrf);
  me = user;
  $("admin-name").textContent = user.name || user.username;
  $("logout").hidden = false;
  if (user.role !== "admin" && user.role !== "province") {
    $("login-view").hidden = false;
    $("login-error").textContent = T.not_admin;
    $("login-error").hidden = false;
    return;
  }
  if (user.role === "admin" && office && OFFICE && office.slug !== OFFICE) {
    window.location.replace(adminUrl(office.slug));  // an office's admin works in their own office
    return;
  }
  const province = user.role === "province";
  here = await api("/api/admin/office");
  $("office-title").textContent = here.name;
  $("offices-link").hidden = !province;
  $("login-view").hidden = true;
  $("app").hidden = false;
  if (province) initSwitcher(here).catch((err) => say(err.message, "error"));
  initReports({ province, office: here });
  initBookings(here);
  showSection();
}

/** The section named in the address (#fields), drawn fresh each time it is opened. */
async function showSection() {
  if ($("app").hidden) return;
  let name = SECTIONS[location.hash.slice(1)] ? location.hash.slice(1) : "overview";
  if (PROVINCE_ONLY.has(name) && me.role !== "province") name = "overview";
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== name;
  for (const link of document.querySelectorAll(".sidebar a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === `#${name}`);
  }
  try {
    await SECTIONS[name]();
  } catch (err) {
    if (err.status === 401) return showLogin();
    say(err.message, "error");
  }
}
window.addEventListener("hashchange", showSection);
onChange(showSection);

// ----- overview ----------------------------------------------------------------------
async function renderOverview() {
  const [data, office, outside] = await Promise.all([
    api("/api/admin/overview"), api("/api/admin/office"), api("/api/admin/tickets/outside-kiosks")]);
  $("office-title").textContent = office.name;
  const counters = table([T.counter, T.name, T.state, T.serving],
    data.counters.map((c) => [String(c.number), c.name, T[`state_${c.state}`] || c.state, c.current ? c.current.code : "—"]));
  const fields = table([T.name, T.waiting], data.fields.map((f) => [f.name, String(f.waiting)]));
  let prints;
  if (!data.printing) prints = el("p", { class: "hint" }, T.printing_off);
  else {
    prints = table([T.ticket, T.error, T.attempts, T.actions], data.print_failures.map((job) => [
      job.ticket_code || "—", job.last_error || "—", String(job.attempts),
      el("span", { class: "buttons" },
        button(T.reprint, () => change("/api/print-jobs/reprint", "POST", { code: job.ticket_code },
          fill(T.reprinted, { code: job.ticket_code })).catch((err) => say(err.message, "error"))),
        button(T.cancel, quick(`/api/print-jobs/${job.job_id}/cancel`))),
    ]), { empty: T.no_print_failures });
  }
  $("overview-body").replaceChildren(
    el("div", { class: "columns" },
      el("div", {}, el("h2", {}, T.counter), counters),
      el("div", {}, el("h2", {}, T.waiting), fields)),
    el("h2", { class: data.print_failures.length ? "alert" : "" }, T.print_failures), prints,
    outsideKiosks(outside.tickets));
}

/**
 * Today's tickets not taken at a paired kiosk, with the address they came from. The waiting ones can be
 * cancelled and come first; the rest (called, served, cancelled) are folded away: an office whose kiosks
 * are not paired lists every ticket of its day here.
 */
function outsideKiosks(tickets) {
  const head = [T.ticket, T.field, T.priority, T.issued_time, T.issued_from, T.status, T.actions];
  const row = (t) => [
    el("strong", {}, t.code), t.field_name, t.priority ? (PRIORITY_NAMES[t.priority] || t.priority) : "—",
    t.issued_at.slice(11, 16), el("code", {}, t.issued_from || "—"), T.ticket_status[t.status] || t.status,
    t.status === "waiting" ? button(T.cancel_ticket, () => cancelTicket(t.code), "small danger") : "",
  ];
  const waiting = tickets.filter((t) => t.status === "waiting");
  const settled = tickets.filter((t) => t.status !== "waiting");
  return el("section", { class: "outside-kiosks", "aria-labelledby": "outside-title" },
    el("h2", { id: "outside-title", class: waiting.length ? "alert" : "" }, `${T.outside_title} (${tickets.length})`),
    el("p", { class: "hint" }, T.outside_hint),
    table(head, waiting.map(row), { empty: tickets.length ? T.outside_none_waiting : T.no_outside, cls: "outside-waiting" }),
    settled.length ? el("details", { class: "outside-settled" },
      el("summary", {}, fill(T.outside_settled, { count: settled.length })),
      table(head, settled.map(row))) : null);
}

function cancelTicket(code) {
  // the citizen holding it will never be called: ask first
  if (!window.confirm(fill(T.confirm_cancel_ticket, { code }))) return;
  change(`/api/admin/tickets/${encodeURIComponent(code)}/cancel`, "POST", undefined, fill(T.ticket_cancelled, { code }))
    .catch((err) => say(err.message, "error"));
}

// ----- office ------------------------------------------------------------------------
async function renderOffice() {
  const office = await api("/api/admin/office");
  $("office-title").textContent = office.name;
  $("office-body").replaceChildren(
    table([T.office_name, T.office_unit, T.rating_scale, T.rating_reasons], [[
      office.name, office.unit, office.rating_scale === 5 ? T.scale_5 : T.scale_3,
      el("ul", {}, office.rating_reasons.map((r) => el("li", {}, r.name))),
    ]]),
    button(T.edit, () => formDialog({
      title: T.edit_office,
      inputs: [
        { name: "name", label: T.office_name, value: office.name, required: true },
        { name: "unit", label: T.office_unit, value: office.unit },
        { name: "rating_scale", label: T.rating_scale, type: "select", value: office.rating_scale,
          options: [[3, T.scale_3], [5, T.scale_5]] },
        { name: "rating_reasons", label: T.rating_reasons, type: "textarea",
          value: office.rating_reasons.map((r) => r.name).join("\n") },
      ],
      onSubmit: (v) => {
        const names = v.rating_reasons.split("\n").map((s) => s.trim()).filter(Boolean);
        const kept = Object.fromEntries(office.rating_reasons.map((r) => [r.name, r.code]));
        return change("/api/admin/office", "PATCH", {
          name: v.name, unit: v.unit, rating_scale: Number(v.rating_scale),
          rating_reasons: names.map((name) => (kept[name] ? { code: kept[name], name } : name)),
        });
      },
    }), "primary"));
}

// ----- users -------------------------------------------------------------------------
async function renderUsers() {
  const { users } = await api("/api/admin/users");
  const rows = users.map((u) => [
    u.username, u.name, ROLES[u.role] || u.role, badge(u.active),
    el("span", { class: "buttons" },
      button(T.reset_password, () => formDialog({
        title: fill(T.new_password, { name: u.name || u.username }),
        inputs: [{ name: "password", label: T.password, type: "password", required: true }],
        onSubmit: (v) => change(`/api/admin/users/${u.id}/password`, "POST", { password: v.password },
          fill(T.password_changed, { name: u.name || u.username })),
      })),
      u.id === me.id ? null
        : button(u.active ? T.disable : T.enable, quick(`/api/admin/users/${u.id}/${u.active ? "disable" : "enable"}`))),
  ]);
  $("users-body").replaceChildren(
    button(T.add, () => formDialog({
      title: T.add_user,
      inputs: [
        { name: "username", label: T.username, required: true },
        { name: "name", label: T.full_name },
        { name: "role", label: T.role, type: "select", value: "clerk",
          options: Object.entries(ROLES).filter(([role]) => role !== "province" || me.role === "province") },
        { name: "password", label: T.password, type: "password", required: true },
      ],
      onSubmit: (v) => change("/api/admin/users", "POST", v),
    }), "primary"),
    table([T.username, T.full_name, T.role, T.status, T.actions], rows));
}

// ----- devices -----------------------------------------------------------------------
async function renderDevices() {
  const [{ devices }, { counters }] = await Promise.all([api("/api/admin/devices"), api("/api/admin/counters")]);
  const rows = devices.map((d) => [
    T[`kind_${d.kind}`] || d.kind, d.name, d.counter ? String(d.counter) : "—",
    T.device_status[d.status] || d.status, localTime(d.last_seen_at || d.paired_at),
    d.status === "revoked" ? "" : button(T.revoke, () => {
      // revoking strands a device in the hall until someone pairs it again: ask first
      if (window.confirm(fill(T.confirm_revoke, { name: d.name }))) quick(`/api/admin/devices/${d.id}/revoke`)();
    }),
  ]);
  const pairing = el("div", { id: "pairing-result" });
  $("devices-body").replaceChildren(
    button(T.pair, () => formDialog({
      title: T.pair_title,
      inputs: [
        { name: "kind", label: T.kind, type: "select", value: "kiosk",
          options: [["kiosk", T.kind_kiosk], ["display", T.kind_display], ["tablet", T.kind_tablet]] },
        { name: "counter", label: `${T.counter} (${T.kind_tablet})`, type: "select", value: "",
          options: [["", "—"], ...counters.map((c) => [c.number, c.name])] },
        { name: "name", label: T.name },
      ],
      submit: T.pair,
      onSubmit: async (v) => {
        const result = await change("/api/admin/devices", "POST", {
          kind: v.kind, name: v.name, counter: v.counter ? Number(v.counter) : null });
        showPairing(result);
      },
    }), "primary"),
    pairing,
    table([T.kind, T.name, T.counter, T.status, T.last_seen, T.actions], rows));
}

function showPairing(result) {
  $("pairing-result").replaceChildren(el("div", { class: "pairing card" },
    el("div", {},
      el("p", {}, T.pairing_code, ": ", el("strong", { class: "pairing-code" }, result.code)),
      el("p", {}, T.pairing_url),
      el("p", {}, el("a", { href: result.url, class: "pairing-url" }, result.url)),
      el("p", { class: "hint" }, T.pairing_once)),
    el("img", { src: result.qr_url, alt: result.url, class: "qr", width: "220", height: "220" })));
}

start();
