// The province's part of the admin: every office of the deployment (add, rename, stop and
// reopen; nothing is ever deleted), and the switcher that moves the whole admin to another
// office's own address (/o/<slug>/admin/), where every section acts in that office.
import { api, el } from "/static/common/api.js";
import { $, T, badge, button, change, fill, formDialog, say, table } from "./ui.js";

/** The admin of an office: /o/<slug>/admin/ (and the section to open, "#reports"). */
export function adminUrl(slug, hash = window.location.hash) {
  return `/o/${encodeURIComponent(slug)}/admin/${hash || ""}`;
}

/** Fill the switcher in the top bar with the offices that serve; `here` is the office on screen. */
export async function initSwitcher(here) {
  const { offices } = await api("/api/admin/offices");
  const select = $("office-switch");
  select.replaceChildren(...offices.filter((o) => o.active || o.slug === here.slug).map((o) =>
    el("option", { value: o.slug, selected: o.slug === here.slug }, o.name)));
  select.onchange = () => { if (select.value !== here.slug) window.location.assign(adminUrl(select.value)); };
  $("office-switcher").hidden = false;
}

/** The "Các cơ quan" section: every office, by name; the one on screen is marked. */
export async function renderOffices(here) {
  const { offices } = await api("/api/admin/offices");
  const rows = offices.map((o) => [
    el("code", { class: "slug" }, o.slug), o.name, o.unit, badge(o.active),
    el("span", { class: "buttons" },
      button(T.edit, () => formDialog({
        title: fill(T.edit_office_listing, { name: o.name }),
        inputs: [
          { name: "name", label: T.office_name, value: o.name, required: true },
          { name: "unit", label: T.office_unit, value: o.unit },
        ],
        onSubmit: (v) => change(`/api/admin/offices/${encodeURIComponent(o.slug)}`, "PATCH", v),
      })),
      button(o.active ? T.disable : T.enable, () => setActive(o, !o.active, here)),
      o.slug === here.slug ? el("span", { class: "badge here" }, T.this_office)
        : o.active ? el("a", { class: "small", href: adminUrl(o.slug, "#overview") }, T.open_office_admin) : null),
  ]);
  $("offices-body").replaceChildren(
    button(T.add, () => formDialog({
      title: T.add_office,
      inputs: [
        { name: "slug", label: T.slug, required: true, hint: T.slug_hint, placeholder: "phuong-ba-dinh" },
        { name: "name", label: T.office_name, required: true },
        { name: "unit", label: T.office_unit, placeholder: "Bộ phận tiếp nhận và trả kết quả" },
      ],
      onSubmit: (v) => change("/api/admin/offices", "POST", { slug: v.slug.trim(), name: v.name, unit: v.unit },
        fill(T.office_added, { name: v.name })),
    }), "primary"),
    table([T.slug, T.office_name, T.office_unit, T.status, T.actions], rows));
  await initSwitcher(here);  // added, renamed, stopped: the switcher says the same
}

async function setActive(office, active, here) {
  // stopping an office closes its kiosks, boards and consoles at once: ask first
  if (!active && !window.confirm(fill(T.confirm_deactivate_office, { name: office.name }))) return;
  try {
    await change(`/api/admin/offices/${encodeURIComponent(office.slug)}`, "PATCH", { active });
  } catch (err) {
    say(err.message, "error");
    return;
  }
  // the office on screen no longer serves: its address answers 404, so go to the plain one
  if (!active && office.slug === here.slug) {
    if (window.location.pathname === "/admin/") window.location.reload();
    else window.location.assign("/admin/#offices");
  }
}
