// The rating form shared by the counter's tablet and the ticket's page on a phone:
// the office's levels as big buttons with faces; the lowest level asks for reasons
// (from the office's list) and an optional comment; then one POST /api/ratings.
import { api, el } from "/static/common/api.js";
import { face, levelMood } from "./faces.js";

let scalePromise = null;

/** The office's rating scale, asked once per page. */
export function loadScale() {
  if (!scalePromise) scalePromise = api("/api/ratings/scale").catch((err) => { scalePromise = null; throw err; });
  return scalePromise;
}

/**
 * Fill `box` with the form for ticket `token`. `onDone({ok, message})` runs after
 * the rating is stored (ok) or refused for good (already rated, not served).
 */
export function ratingForm(box, scale, token, onDone) {
  const lowest = Math.min(...scale.levels.map((l) => l.score));
  const levels = [...scale.levels].sort((a, b) => b.score - a.score);
  const error = el("p", { class: "error", role: "alert", hidden: true });
  let sending = false;

  async function send(score, reasons = [], comment = "") {
    if (sending) return;
    sending = true;
    error.hidden = true;
    try {
      await api("/api/ratings", { method: "POST", body: { token, score, reasons, comment } });
      onDone({ ok: true });
    } catch (err) {
      if (err.status === 409 || err.status === 404) onDone({ ok: false, message: err.message });
      else {
        error.textContent = err.message;
        error.hidden = false;
      }
    } finally {
      sending = false;
    }
  }

  function showLevels() {
    const ranked = [...levels].sort((a, b) => a.score - b.score);  // least satisfied first
    const buttons = levels.map((level) => {
      const mood = levelMood(ranked.indexOf(level), ranked.length);
      return el("button", {
        type: "button", class: "level", dataset: { score: String(level.score) },
        onclick: () => (level.score === lowest ? showReasons(level.score) : send(level.score)),
      }, face(mood), el("span", { class: "level-name" }, level.name));
    });
    box.replaceChildren(
      el("h2", { class: "rate-question" }, "Ông/bà có hài lòng với việc giải quyết thủ tục hành chính?"),
      el("div", { class: `levels levels-${levels.length}` }, buttons),
      error);
  }

  function showReasons(score) {
    const chosen = new Set();
    const reasonButtons = scale.reasons.map((reason) => {
      const button = el("button", {
        type: "button", class: "reason", "aria-pressed": "false", dataset: { reason: reason.code },
        onclick: () => {
          if (chosen.has(reason.code)) chosen.delete(reason.code);
          else chosen.add(reason.code);
          button.setAttribute("aria-pressed", String(chosen.has(reason.code)));
        },
      }, reason.name);
      return button;
    });
    const counter = el("span", { class: "comment-count" }, `0/${scale.comment_max}`);
    const comment = el("textarea", {
      id: "rate-comment", maxlength: String(scale.comment_max), rows: "3",
      placeholder: "Góp ý thêm (không bắt buộc)",
      oninput: () => { counter.textContent = `${comment.value.length}/${scale.comment_max}`; },
    });
    box.replaceChildren(
      el("h2", { class: "rate-question" }, "Xin cho biết vì sao ông/bà chưa hài lòng"),
      el("p", { class: "rate-hint" }, "Chọn một hoặc nhiều lý do:"),
      el("div", { class: "reasons" }, reasonButtons),
      el("label", { for: "rate-comment", class: "comment-label" }, "Góp ý ", counter),
      comment,
      error,
      el("div", { class: "rate-actions" },
        el("button", { type: "button", class: "button-secondary", onclick: showLevels }, "Quay lại"),
        el("button", {
          type: "button", class: "button-primary", id: "rate-send",
          onclick: () => send(score, [...chosen], comment.value.trim()),
        }, "Gửi đánh giá")));
  }

  showLevels();
}
