// Small building blocks the admin's sections share: texts, messages, tables and one edit dialog.
import { api, el } from "/static/common/api.js";

export const T = JSON.parse(document.body.dataset.texts);
export const $ = (id) => document.getElementById(id);

export function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

export function say(text, kind = "ok") {
  const box = $("message");
  box.textContent = text;
  box.className = `message ${kind}`;
  box.hidden = !text;
  if (kind === "ok" && text) setTimeout(() => { if (box.textContent === text) box.hidden = true; }, 4000);
}

/**
 * A table from column titles and rows of cells (strings, numbers or nodes). A row may also be
 * `{cells, class}` (a total row); `cls` adds classes to the table ("figures": numbers to the right).
 */
export function table(headers, rows, { empty = "", cls = "" } = {}) {
  const row = (r) => (Array.isArray(r) ? el("tr", {}, r.map((c) => el("td", {}, c)))
    : el("tr", { class: r.class }, r.cells.map((c) => el("td", {}, c))));
  return el("table", { class: `grid ${cls}`.trim() },
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.length ? rows.map(row)
      : el("tr", {}, el("td", { colspan: String(headers.length), class: "empty" }, empty))));
}

export function button(label, onclick, cls = "small") {
  return el("button", { type: "button", class: cls, onclick }, label);
}

export function badge(on, yes = T.active, no = T.inactive) {
  return el("span", { class: `badge ${on ? "on" : "off"}` }, on ? yes : no);
}

/** An ordered checklist: tick what applies, move ticked items up and down. Returns a getter. */
function orderedChecklist(items) {
  const list = el("ol", { class: "ordered" });
  const row = (item) => {
    const li = el("li", { dataset: { value: item.value } },
      el("label", { class: "check" }, el("input", { type: "checkbox", checked: item.checked }), item.label),
      button("↑", () => li.previousElementSibling?.before(li), "tiny"),
      button("↓", () => li.nextElementSibling?.after(li), "tiny"));
    return li;
  };
  list.append(...items.map(row));
  const read = () => [...list.children].filter((li) => li.querySelector("input").checked).map((li) => li.dataset.value);
  return [list, read];
}

/**
 * One dialog for every add and edit form; its `title` names what it adds or edits ("Thêm quầy").
 * `inputs`: [{name, label, type, value, options, hint, placeholder}].
 * `onSubmit(values)` returns a promise; an error is shown inside the dialog and keeps it open.
 */
export function formDialog({ title, inputs, submit = T.save, onSubmit }) {
  const dialog = $("edit-dialog");
  const form = $("edit-form");
  const readers = {};
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const body = inputs.map((input) => {
    if (input.type === "checklist") {
      const [node, read] = orderedChecklist(input.options);
      readers[input.name] = read;
      return el("fieldset", {}, el("legend", {}, input.label), node);
    }
    let control;
    if (input.type === "select") {
      control = el("select", { name: input.name }, input.options.map(([value, label]) =>
        el("option", { value, selected: String(value) === String(input.value ?? "") }, label)));
    } else if (input.type === "textarea") {
      control = el("textarea", { name: input.name, rows: "5" }, input.value ?? "");
    } else {
      control = el("input", { name: input.name, type: input.type || "text", value: input.value ?? "",
        required: input.required, min: input.min, placeholder: input.placeholder,
        autocomplete: input.type === "password" ? "new-password" : "off" });
    }
    readers[input.name] = () => control.value;
    // the hint sits outside the label, so the field's accessible name is its label alone
    return el("div", { class: "input" }, el("label", {}, input.label, control),
      input.hint ? el("span", { class: "hint" }, input.hint) : null);
  });
  form.replaceChildren(el("h2", {}, title), ...body, error,
    el("div", { class: "row" },
      el("button", { type: "submit", class: "primary" }, submit),
      button(T.cancel, () => dialog.close(), "link")));
  form.onsubmit = async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(Object.entries(readers).map(([k, read]) => [k, read()]));
    try {
      await onSubmit(values);
      dialog.close();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  };
  dialog.showModal();
  form.querySelector("input, select, textarea")?.focus();
}

/** "" -> null, "12" -> 12: optional whole numbers from a form. */
export function optionalInt(text) {
  const trimmed = String(text ?? "").trim();
  if (!trimmed) return null;
  const number = Number(trimmed);
  return Number.isInteger(number) ? number : trimmed; // the server says what is wrong with the rest
}

export function localTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(document.documentElement.lang === "en" ? "en-GB" : "vi-VN");
}

let redraw = async () => {};

/** What to redraw after a change (the section on screen). */
export function onChange(fn) {
  redraw = fn;
}

/** Run a change, say it worked, redraw; errors go to the caller (a dialog shows them). */
export async function change(path, method, body, done = T.saved) {
  const result = await api(path, { method, body });
  say(done);
  await redraw();
  return result;
}

/** A one-click change from a table row: errors go to the message bar. */
export function quick(path, method = "POST", body) {
  return () => change(path, method, body).catch((err) => say(err.message, "error"));
}
