// Small building blocks the admin's sections share: texts, messages, tables and one edit dialog.
import { api, el } from "/static/common/api.js";
import { day, parseDay } from "./format.js";

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
 * `inputs`: [{name, label, type, value, options, hint, placeholder, min, max}]. A `type: "checkbox"` input reads
 * as true or false; an input with `when: "<checkbox's name>"` shows only while that box is ticked; a
 * `type: "fieldset"` groups its own `inputs` under its label (and `hint`), a `type: "row"` puts its `inputs`
 * side by side. `intro`: a paragraph under the title.
 * `onSubmit(values)` returns a promise; an error is shown inside the dialog and keeps it open.
 */
export function formDialog({ title, intro, inputs, submit = T.save, submitClass = "primary", onSubmit }) {
  const dialog = $("edit-dialog");
  const form = $("edit-form");
  const readers = {};
  const toggles = [];  // [checkbox name, node to show while it is ticked]
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const build = (input) => {
    if (input.type === "row") {  // a few short inputs side by side
      return el("div", { class: `input-row ${input.cls || ""}`.trim() }, input.inputs.map(build));
    }
    if (input.type === "fieldset") {
      return el("fieldset", { class: input.cls }, el("legend", {}, input.label),
        input.hint ? el("p", { class: "hint" }, input.hint) : null,
        el("div", { class: "fieldset-inputs" }, input.inputs.map(build)));
    }
    if (input.type === "checklist") {
      const [node, read] = orderedChecklist(input.options);
      readers[input.name] = read;
      return el("fieldset", {}, el("legend", {}, input.label), node);
    }
    if (input.type === "checkbox") {
      const box = el("input", { type: "checkbox", name: input.name, checked: Boolean(input.value) });
      readers[input.name] = () => box.checked;
      return el("div", { class: "input" }, el("label", { class: "check" }, box, input.label));
    }
    let control;
    if (input.type === "select") {
      control = el("select", { name: input.name }, input.options.map(([value, label]) =>
        el("option", { value, selected: String(value) === String(input.value ?? "") }, label)));
    } else if (input.type === "textarea") {
      control = el("textarea", { name: input.name, rows: "5", maxlength: input.maxlength }, input.value ?? "");
    } else {
      control = el("input", { name: input.name, type: input.type || "text", value: input.value ?? "",
        required: input.required, min: input.min, max: input.max, placeholder: input.placeholder,
        inputmode: input.inputmode, autocomplete: input.type === "password" ? "new-password" : "off" });
    }
    readers[input.name] = () => control.value;
    // the hint sits outside the label, so the field's accessible name is its label alone
    const node = el("div", { class: "input" }, el("label", {}, input.label, control),
      input.hint ? el("span", { class: "hint" }, input.hint) : null);
    if (input.when) toggles.push([input.when, node]);
    return node;
  };
  const body = inputs.map(build);
  form.replaceChildren(el("h2", {}, title), ...(intro ? [el("p", { class: "intro" }, intro)] : []), ...body, error,
    el("div", { class: "row" },
      el("button", { type: "submit", class: submitClass }, submit),
      button(T.cancel, () => dialog.close(), "link")));
  // what depends on a box shows while it is ticked (and is not read by the form while hidden)
  const follow = () => {
    for (const [name, node] of toggles) {
      const on = form.elements[name].checked;
      node.hidden = !on;
      for (const control of node.querySelectorAll("input, select, textarea")) control.disabled = !on;
    }
  };
  form.onchange = follow;
  follow();
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

/**
 * A dd/mm/yyyy text field with a calendar button beside it: the button opens the browser's own picker
 * through a hidden type=date input (`picker`), and the text field keeps the Vietnamese order whatever the
 * PC's locale. "5/1/2026" reads as 05/01/2026 once the field is left.
 */
export function wireDateField(text, calendarButton, picker) {
  text.addEventListener("change", () => {
    const iso = parseDay(text.value);
    if (iso) text.value = day(iso);
  });
  calendarButton.addEventListener("click", () => {
    picker.value = parseDay(text.value) || "";
    try {
      picker.showPicker();
    } catch (err) {
      text.focus(); // no picker in this browser: type the date
    }
  });
  picker.addEventListener("change", () => {
    if (picker.value) {
      text.value = day(picker.value);
      text.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
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
