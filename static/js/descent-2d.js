// Gradient descent on a surface: a toy function of two numbers with three valleys, drawn as a
// heat map with contour lines (marching squares on a grid), the downhill arrow −∇f at the ball,
// where the next step lands, and the path taken. Click or tap to drop the ball; arrow keys
// move it. The walking itself is the shared Walker (descent-walk.js).

import { hexToRgb, theme } from "./colors.js";
import { invalidate } from "./frame.js";
import { arrow, ball, bindPointer, cssVar, fitCanvas, fmt } from "./descent-walk.js";

// f(x, y) = (x² + y²)/16 − Σ a·exp(−((x−cx)² + (y−cy)²) / (2s²)): a shallow bowl with three
// Gaussian valleys of different depths. Declared once, with its exact gradient.
const WELLS = [
  { cx: -1.5, cy: -0.9, a: 2.0, s: 0.9 },
  { cx: 1.5, cy: -1.0, a: 1.6, s: 0.8 },
  { cx: 0.3, cy: 1.5, a: 1.3, s: 0.8 },
];
const BOWL = 0.06;

export const SURFACE = {
  label: "f(x, y) = 0.06(x² + y²) − three Gaussian valleys",
  min: -3,
  max: 3,
  start: [0.2, -2.6],
  value([x, y]) {
    let v = BOWL * (x * x + y * y);
    for (const w of WELLS) v -= w.a * gauss(w, x, y);
    return v;
  },
  grad([x, y]) {
    let gx = 2 * BOWL * x;
    let gy = 2 * BOWL * y;
    for (const w of WELLS) {
      const k = (w.a * gauss(w, x, y)) / (w.s * w.s);
      gx += k * (x - w.cx);
      gy += k * (y - w.cy);
    }
    return [gx, gy];
  },
  inside([x, y]) {
    return x >= SURFACE.min && x <= SURFACE.max && y >= SURFACE.min && y <= SURFACE.max;
  },
};

function gauss(w, x, y) {
  return Math.exp(-((x - w.cx) ** 2 + (y - w.cy) ** 2) / (2 * w.s * w.s));
}

const GRID = 150; // heat-map and contour grid, cells per side
const LEVELS = 16;
const M = { left: 30, right: 10, top: 10, bottom: 24 };
const ARROW_SCALE = 1; // −∇f drawn 1 unit long per unit of gradient…
const ARROW_MAX = 1.2; // …and at most this long
const KEY_STEP = 0.05;

export class SurfaceView {
  constructor(canvas, walker, { onDrop, eta }) {
    this.canvas = canvas;
    this.walker = walker;
    this.onDrop = onDrop;
    this.eta = eta; // () → the current step size
    this.values = sampleGrid();
    this.bg = null;
    this.ctx = fitCanvas(canvas, (w, h) => this.resize(w, h));
    bindPointer(canvas, (e) => this.dropAt(e));
    canvas.addEventListener("keydown", (e) => this.key(e));
  }

  resize(w, h) {
    this.w = w;
    this.h = h;
    const size = Math.min(w - M.left - M.right, h - M.top - M.bottom);
    this.plot = { x: M.left, y: M.top, size };
    this.bg = null;
    invalidate(this);
  }

  themeChanged() {
    this.bg = null;
    invalidate(this);
  }

  pxPerUnit() {
    return this.plot.size / (SURFACE.max - SURFACE.min);
  }

  toPx([x, y]) {
    const { plot } = this;
    const k = plot.size / (SURFACE.max - SURFACE.min);
    return [plot.x + (x - SURFACE.min) * k, plot.y + (SURFACE.max - y) * k];
  }

  fromPx(px, py) {
    const { plot } = this;
    const k = (SURFACE.max - SURFACE.min) / plot.size;
    const clamp = (v) => Math.max(SURFACE.min, Math.min(SURFACE.max, v));
    return [clamp(SURFACE.min + (px - plot.x) * k), clamp(SURFACE.max - (py - plot.y) * k)];
  }

  dropAt(e) {
    const r = this.canvas.getBoundingClientRect();
    this.onDrop(this.fromPx(e.clientX - r.left, e.clientY - r.top));
  }

  key(e) {
    const d = e.shiftKey ? KEY_STEP * 10 : KEY_STEP;
    const moves = { ArrowLeft: [-d, 0], ArrowRight: [d, 0], ArrowUp: [0, d], ArrowDown: [0, -d] };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    const p = this.walker.finished && !SURFACE.inside(this.walker.p) ? this.walker.start : this.walker.p;
    const clamp = (v) => Math.max(SURFACE.min, Math.min(SURFACE.max, v));
    this.onDrop([clamp(p[0] + m[0]), clamp(p[1] + m[1])]);
  }

  /** Client (page) coordinates of a point of the surface, for tests. */
  clientPoint(p) {
    const r = this.canvas.getBoundingClientRect();
    const [x, y] = this.toPx(p);
    return { x: r.left + x, y: r.top + y };
  }

  render() {
    const { ctx } = this;
    if (!this.bg) this.bg = this.background();
    ctx.clearRect(0, 0, this.w, this.h);
    ctx.drawImage(this.bg, 0, 0, this.w, this.h);
    const t = theme();
    this.drawPath(t);
    const w = this.walker;
    if (w.status === "diverged") {
      ctx.fillStyle = cssVar("--danger", "#ff9b7a");
      ctx.font = "600 13px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.fillText("diverged: step size too large", this.plot.x + this.plot.size / 2, this.plot.y + 22);
      return;
    }
    const [bx, by] = this.toPx(w.p);
    const g = SURFACE.grad(w.p);
    const k = Math.min(ARROW_SCALE, ARROW_MAX / (Math.hypot(g[0], g[1]) || 1));
    const [ax, ay] = this.toPx([w.p[0] - k * g[0], w.p[1] - k * g[1]]);
    arrow(ctx, bx, by, ax, ay, t.brown, 2.5);
    if (Math.hypot(ax - bx, ay - by) > 14) {
      ctx.fillStyle = t.brown;
      ctx.font = "600 12px system-ui, sans-serif";
      ctx.textAlign = ax >= bx ? "left" : "right";
      ctx.fillText("−∇f", ax + (ax >= bx ? 5 : -5), ay + (ay >= by ? 12 : -4));
    }
    const step = w.nextStep(this.eta());
    const next = [w.p[0] + step[0], w.p[1] + step[1]];
    if (SURFACE.inside(next) && !w.finished) {
      const [nx, ny] = this.toPx(next);
      ctx.beginPath();
      ctx.arc(nx, ny, 5, 0, 2 * Math.PI);
      ctx.strokeStyle = t.accent;
      ctx.lineWidth = 1.5;
      ctx.setLineDash([3, 3]);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    ball(ctx, bx, by, t.accent, t.bg, 6);
  }

  drawPath(t) {
    const { ctx } = this;
    const path = this.walker.path;
    if (path.length < 2) return;
    ctx.save();
    ctx.beginPath();
    ctx.rect(this.plot.x, this.plot.y, this.plot.size, this.plot.size);
    ctx.clip();
    ctx.strokeStyle = t.accent;
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    path.forEach((p, i) => {
      const [x, y] = this.toPx(p);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
    ctx.fillStyle = t.accent;
    for (const p of path.slice(-300)) {
      const [x, y] = this.toPx(p);
      ctx.fillRect(x - 1.5, y - 1.5, 3, 3);
    }
    ctx.restore();
  }

  /** Heat map, contour lines and axes, drawn once per size and theme. */
  background() {
    const dpr = window.devicePixelRatio || 1;
    const c = document.createElement("canvas");
    c.width = Math.round(this.w * dpr);
    c.height = Math.round(this.h * dpr);
    const ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const t = theme();
    const { plot } = this;
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(heatImage(this.values, t), plot.x, plot.y, plot.size, plot.size);
    ctx.save();
    ctx.beginPath();
    ctx.rect(plot.x, plot.y, plot.size, plot.size);
    ctx.clip();
    ctx.strokeStyle = t.text;
    ctx.globalAlpha = 0.28;
    ctx.lineWidth = 1;
    const cell = plot.size / GRID;
    ctx.beginPath();
    for (const [x0, y0, x1, y1] of contours(this.values)) {
      ctx.moveTo(plot.x + x0 * cell, plot.y + y0 * cell);
      ctx.lineTo(plot.x + x1 * cell, plot.y + y1 * cell);
    }
    ctx.stroke();
    ctx.restore();
    this.axes(ctx, t);
    return c;
  }

  axes(ctx, t) {
    const { plot } = this;
    ctx.strokeStyle = t.grid;
    ctx.strokeRect(plot.x + 0.5, plot.y + 0.5, plot.size - 1, plot.size - 1);
    ctx.fillStyle = t.muted;
    ctx.font = "11px system-ui, sans-serif";
    for (let v = SURFACE.min; v <= SURFACE.max; v++) {
      const [px, py] = this.toPx([v, v]);
      ctx.textAlign = "center";
      ctx.fillText(String(v), px, plot.y + plot.size + 15);
      ctx.textAlign = "right";
      ctx.fillText(String(v), plot.x - 6, py + 4);
    }
  }
}

/** Values on a (GRID+1)² lattice of corners, row 0 at the top (y = max). */
function sampleGrid() {
  const n = GRID + 1;
  const v = new Float64Array(n * n);
  const span = SURFACE.max - SURFACE.min;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      v[j * n + i] = SURFACE.value([SURFACE.min + (i / GRID) * span, SURFACE.max - (j / GRID) * span]);
    }
  }
  return v;
}

function range(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return [lo, hi];
}

/** Valleys tinted blue, hills brown, the middle the canvas colour. */
function heatImage(values, t) {
  const n = GRID + 1;
  const c = document.createElement("canvas");
  c.width = n;
  c.height = n;
  const ctx = c.getContext("2d");
  const img = ctx.createImageData(n, n);
  const [lo, hi] = range(values);
  const bg = hexToRgb(t.bg);
  const blue = hexToRgb(t.blue);
  const brown = hexToRgb(t.brown);
  for (let i = 0; i < values.length; i++) {
    const u = (values[i] - lo) / (hi - lo);
    const [c2, k] = u < 0.55 ? [blue, ((0.55 - u) / 0.55) ** 1.1 * 0.62] : [brown, ((u - 0.55) / 0.45) ** 1.2 * 0.4];
    for (let ch = 0; ch < 3; ch++) img.data[4 * i + ch] = Math.round(bg[ch] + (c2[ch] - bg[ch]) * k);
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

/**
 * Marching squares: line segments [x0, y0, x1, y1] in grid units for LEVELS evenly spaced
 * levels. Saddle cells are split by the value at the cell's centre.
 */
export function contours(values) {
  const n = GRID + 1;
  const [lo, hi] = range(values);
  const segs = [];
  for (let l = 1; l <= LEVELS; l++) {
    const level = lo + ((hi - lo) * l) / (LEVELS + 1);
    for (let j = 0; j < GRID; j++) {
      for (let i = 0; i < GRID; i++) {
        cellSegments(values, n, i, j, level, segs);
      }
    }
  }
  return segs;
}

function cellSegments(v, n, i, j, level, segs) {
  const a = v[j * n + i]; // top-left
  const b = v[j * n + i + 1]; // top-right
  const c = v[(j + 1) * n + i + 1]; // bottom-right
  const d = v[(j + 1) * n + i]; // bottom-left
  const code = (a > level ? 8 : 0) | (b > level ? 4 : 0) | (c > level ? 2 : 0) | (d > level ? 1 : 0);
  if (code === 0 || code === 15) return;
  const f = (p, q) => (level - p) / (q - p);
  const top = [i + f(a, b), j];
  const right = [i + 1, j + f(b, c)];
  const bottom = [i + f(d, c), j + 1];
  const left = [i, j + f(a, d)];
  const add = (p, q) => segs.push([p[0], p[1], q[0], q[1]]);
  const centreHigh = (a + b + c + d) / 4 > level;
  switch (code) {
    case 1: case 14: add(left, bottom); break;
    case 2: case 13: add(bottom, right); break;
    case 3: case 12: add(left, right); break;
    case 4: case 11: add(top, right); break;
    case 6: case 9: add(top, bottom); break;
    case 7: case 8: add(left, top); break;
    case 5: // a, c low; b, d high
      if (centreHigh) { add(left, top); add(bottom, right); } else { add(top, right); add(left, bottom); }
      break;
    case 10: // a, c high; b, d low
      if (centreHigh) { add(top, right); add(left, bottom); } else { add(left, top); add(bottom, right); }
      break;
    default:
      break;
  }
}

/** Readouts of the surface walker: {testid suffix: text}. */
export function surfaceReadouts(w, eta) {
  const g = SURFACE.grad(w.p);
  const s = w.nextStep(eta);
  return {
    point: `(${fmt(w.p[0])}, ${fmt(w.p[1])})`,
    f: fmt(SURFACE.value(w.p)),
    grad: `(${fmt(g[0])}, ${fmt(g[1])})`,
    step: `(${fmt(s[0])}, ${fmt(s[1])})`,
    steps: String(w.steps),
  };
}
