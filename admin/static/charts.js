// Bar charts drawn as SVG with DOM calls: no library, nothing inline, text always as text.
import { number } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function figure(title, chart) {
  const fig = document.createElement("figure");
  fig.className = "chart";
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  fig.append(caption, chart);
  return fig;
}

/** Vertical columns, e.g. tickets per hour: items [{label, value, text}] (`text`: the value as shown). */
export function columnChart(title, items) {
  const width = 640, height = 260, left = 36, bottom = 28, top = 16;
  const max = Math.max(1, ...items.map((i) => i.value));
  const step = (width - left) / Math.max(1, items.length);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  chart.append(svg("line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: "axis" }));
  for (const tick of [0, Math.round(max / 2), max]) {
    const y = height - bottom - (tick / max) * (height - bottom - top);
    chart.append(svg("text", { x: left - 6, y: y + 4, class: "tick", "text-anchor": "end" }, number(tick)));
  }
  items.forEach((item, i) => {
    const h = (item.value / max) * (height - bottom - top);
    const x = left + i * step + step * 0.15;
    const bar = svg("rect", { x, y: height - bottom - h, width: step * 0.7, height: h, class: "bar" });
    bar.append(svg("title", {}, `${item.label}: ${item.text ?? item.value}`));
    chart.append(bar);
    chart.append(svg("text", { x: x + step * 0.35, y: height - bottom + 16, class: "tick", "text-anchor": "middle" }, item.label));
    if (item.value) {
      chart.append(svg("text", { x: x + step * 0.35, y: height - bottom - h - 4, class: "value", "text-anchor": "middle" },
        item.text ?? String(item.value)));
    }
  });
  return figure(title, chart);
}

/** Horizontal bars with a label and a printed value: items [{label, value, text}]; `max` fixes the scale. */
export function barChart(title, items, { max, cls = "bar" } = {}) {
  const width = 640, row = 30, labelWidth = 200, valueWidth = 150;
  const height = Math.max(1, items.length) * row + 8;
  const top = max ?? Math.max(1e-9, ...items.map((i) => i.value || 0));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  items.forEach((item, i) => {
    const y = 4 + i * row;
    const span = width - labelWidth - valueWidth;
    const w = Math.max(item.value ? 2 : 0, ((item.value || 0) / top) * span);
    const label = item.label.length > 28 ? `${item.label.slice(0, 27)}…` : item.label;
    chart.append(svg("text", { x: labelWidth - 8, y: y + row / 2 + 4, class: "label", "text-anchor": "end" }, label));
    const bar = svg("rect", { x: labelWidth, y: y + 5, width: w, height: row - 10, class: cls });
    bar.append(svg("title", {}, `${item.label}: ${item.text}`));
    chart.append(bar);
    chart.append(svg("text", { x: labelWidth + w + 6, y: y + row / 2 + 4, class: "value" }, item.text));
  });
  return figure(title, chart);
}
