// Colours shared by the network view, heat maps and chart, read from the CSS theme so the
// light and dark themes stay in one stylesheet. Weights use blue (positive) and orange
// (negative): a pair that people with red-green colour blindness can still tell apart.

export const POS = [88, 196, 221]; // 3Blue1Brown blue
export const NEG = [240, 136, 42]; // orange, not red: colour-blind safe against the blue

let cache = null;

/** Theme colours from CSS custom properties (re-read after a theme switch). */
export function theme() {
  if (cache) return cache;
  const s = getComputedStyle(document.documentElement);
  const v = (name, fallback) => (s.getPropertyValue(name) || "").trim() || fallback;
  cache = {
    bg: v("--canvas-bg", "#0e1116"),
    text: v("--text", "#e8e6e3"),
    muted: v("--muted", "#8b93a1"),
    grid: v("--grid", "#2a2f3a"),
    accent: v("--yellow", "#f4d35e"),
    blue: v("--blue", "#58c4dd"),
    brown: v("--brown", "#c49a6c"),
    drawings: v("--drawings", "#83c167"), // the held-out drawings' accuracy (drawings.css)
    neuronOff: hexToRgb(v("--neuron-off", "#1b2029")),
    neuronOn: hexToRgb(v("--neuron-on", "#ffffff")),
    ring: v("--neuron-ring", "#4a5161"),
  };
  return cache;
}

export function resetTheme() {
  cache = null;
}

export function hexToRgb(hex) {
  const h = hex.replace("#", "");
  const full = h.length === 3 ? h.split("").map((c) => c + c).join("") : h;
  const n = parseInt(full, 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** A neuron's fill for brightness t in 0..1. */
export function neuronFill(t) {
  const { neuronOff: a, neuronOn: b } = theme();
  const k = Math.max(0, Math.min(1, t));
  return `rgb(${Math.round(a[0] + (b[0] - a[0]) * k)},${Math.round(a[1] + (b[1] - a[1]) * k)},${Math.round(a[2] + (b[2] - a[2]) * k)})`;
}

/** Fill an ImageData-like RGBA array with a diverging blue/orange map of `values`. */
export function divergingInto(data, values, scale) {
  const { neuronOff: base } = theme();
  for (let i = 0; i < values.length; i++) {
    const t = Math.max(-1, Math.min(1, values[i] / (scale || 1)));
    const c = t >= 0 ? POS : NEG;
    const k = Math.abs(t);
    data[4 * i] = Math.round(base[0] + (c[0] - base[0]) * k);
    data[4 * i + 1] = Math.round(base[1] + (c[1] - base[1]) * k);
    data[4 * i + 2] = Math.round(base[2] + (c[2] - base[2]) * k);
    data[4 * i + 3] = 255;
  }
}
