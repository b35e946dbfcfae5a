// Faces for the rating levels, drawn in SVG (no emoji font needed on a tablet).
// `mood` runs from 0 (least satisfied) to 1 (most satisfied).
const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#c8102e", "#e0661b", "#d6a400", "#2f8f3a", "#0a7d3b"];

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

export function moodColour(mood) {
  return COLOURS[Math.round(mood * (COLOURS.length - 1))];
}

export function face(mood) {
  const root = svg("svg", { viewBox: "0 0 100 100", class: "face", "aria-hidden": "true" });
  root.append(svg("circle", { cx: 50, cy: 50, r: 46, fill: moodColour(mood), stroke: "#fff", "stroke-width": 3 }));
  root.append(svg("circle", { cx: 35, cy: 40, r: 6, fill: "#fff" }));
  root.append(svg("circle", { cx: 65, cy: 40, r: 6, fill: "#fff" }));
  const curve = (mood - 0.5) * 2;           // -1 frown … +1 smile
  const y = 68 - curve * 4;
  root.append(svg("path", {
    d: `M 30 ${y} Q 50 ${y + curve * 22} 70 ${y}`,
    fill: "none", stroke: "#fff", "stroke-width": 7, "stroke-linecap": "round",
  }));
  return root;
}
