// Faces for the rating levels, drawn in SVG (no emoji font needed on a tablet).
// A face's mood runs from -1 (a frown) through 0 (neutral) to +1 (a big smile).
// On the 3-level scale offices report on, the middle level is "Hài lòng" (satisfied):
// a smile, not a neutral face; "Rất hài lòng" is a bigger, open smile.
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

/** The mood of each level, from its rank among `count` levels (0 = least satisfied). */
export function levelMood(rank, count) {
  if (count === 3) return [-1, 0.6, 1][rank];
  if (count === 5) return [-1, -0.5, 0, 0.6, 1][rank];
  return count > 1 ? -1 + (2 * rank) / (count - 1) : 1;
}

export function moodColour(mood) {
  if (mood <= -0.75) return "#c8102e";
  if (mood < -0.25) return "#e0661b";
  if (mood < 0.25) return "#b88a00";
  if (mood < 0.8) return "#2f8f3a";
  return "#0a7d3b";
}

export function face(mood) {
  const root = svg("svg", { viewBox: "0 0 100 100", class: "face", "aria-hidden": "true", "data-mood": mood });
  root.append(svg("circle", { cx: 50, cy: 50, r: 46, fill: moodColour(mood), stroke: "#fff", "stroke-width": 3 }));
  root.append(svg("circle", { cx: 35, cy: 40, r: 6, fill: "#fff" }));
  root.append(svg("circle", { cx: 65, cy: 40, r: 6, fill: "#fff" }));
  if (mood >= 0.8) {
    // The biggest smile: an open mouth.
    root.append(svg("path", { d: "M 27 60 Q 50 90 73 60 Z", fill: "#fff", stroke: "#fff", "stroke-width": 4, "stroke-linejoin": "round" }));
    return root;
  }
  const y = 66 - mood * 4;
  root.append(svg("path", {
    d: `M 30 ${y} Q 50 ${y + mood * 22} 70 ${y}`,
    fill: "none", stroke: "#fff", "stroke-width": 7, "stroke-linecap": "round",
  }));
  return root;
}
