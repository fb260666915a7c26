// What the two training charts share (the live one, chart.js, and the compare page's,
// compare-chart.js): the cost series smoothed by training step, sizing a canvas to its box,
// the axes (cost on the left, accuracy on the right, steps along the bottom), an accuracy
// axis that fits the accuracies measured, and an accuracy curve drawn as a line with a dot
// per evaluation.

import { theme } from "./colors.js";
import { invalidate } from "./frame.js";
import { pct, tick } from "./fmt.js";

export const DEFAULT_SMOOTHING = 100;

/**
 * The per-batch costs and their exponential average by training step, not by point: a point
 * `gap` steps after the previous one weighs 1 − (1 − 1/window)^gap, so the curve's memory is
 * ~window steps whether points arrive every step (slow motion) or every ~25 (full speed).
 * Debiased at the start, as TensorBoard-like tools do.
 */
export class Series {
  constructor(window = DEFAULT_SMOOTHING) {
    this.window = window;
    this.n = 0;
    this.x = new Float64Array(1024);
    this.y = new Float64Array(1024);
    this.s = new Float64Array(1024);
    this.restart();
  }
  restart() {
    this.ema = 0;
    this.weight = 0;
    this.lastX = null;
  }
  smooth(x, y) {
    const gap = this.lastX === null ? 1 : Math.max(1, x - this.lastX);
    this.lastX = x;
    const w = this.window > 1 ? 1 - (1 - 1 / this.window) ** gap : 1;
    this.ema = this.ema * (1 - w) + y * w;
    this.weight = this.weight * (1 - w) + w;
    return this.ema / this.weight;
  }
  push(x, y) {
    if (!Number.isFinite(y)) return;
    if (this.n === this.x.length) {
      for (const k of ["x", "y", "s"]) {
        const bigger = new Float64Array(this.x.length * 2);
        bigger.set(this[k]);
        this[k] = bigger;
      }
    }
    this.x[this.n] = x;
    this.y[this.n] = y;
    this.s[this.n] = this.smooth(x, y);
    this.n++;
  }
  /** Smooth over ~`window` steps (0: none), recomputing the curve drawn so far. */
  setWindow(window) {
    this.window = window;
    this.restart();
    for (let i = 0; i < this.n; i++) this.s[i] = this.smooth(this.x[i], this.y[i]);
  }
}

/** Size `chart.canvas`'s pixels to its box (at least minW × minH CSS px) and ask for a frame;
 * sets chart.w, chart.h and chart.dpr. */
export function fitCanvas(chart, minW, minH) {
  const dpr = window.devicePixelRatio || 1;
  const r = chart.canvas.getBoundingClientRect();
  chart.w = Math.max(minW, r.width);
  chart.h = Math.max(minH, r.height);
  chart.canvas.width = Math.round(chart.w * dpr);
  chart.canvas.height = Math.round(chart.h * dpr);
  chart.dpr = dpr;
  invalidate(chart);
}

/** Start a frame of `chart` (sized by fitCanvas): cleared, in CSS px; the context, the theme's
 * colours and the plot's width and height inside the margins M. */
export function beginFrame(chart, M) {
  const ctx = chart.ctx;
  ctx.setTransform(chart.dpr, 0, 0, chart.dpr, 0, 0);
  ctx.clearRect(0, 0, chart.w, chart.h);
  return { ctx, t: theme(), pw: chart.w - M.left - M.right, ph: chart.h - M.top - M.bottom };
}

/** The bottom of the accuracy axis: the tenth below the lowest accuracy (so 97% and 98% are
 * told apart once a network is good), 0 at the lowest. */
export function accuracyFloor(values) {
  let min = 1;
  for (const v of values) if (typeof v === "number" && v < min) min = v;
  return Math.max(0, Math.floor((min - 0.02) * 10) / 10);
}

/**
 * Grid lines and labels: the cost ticks `yTicks` on the left (through Y), the step ticks along
 * the bottom (through X, up to xmax), "step" at the right end, and, when `accuracy` ([lo, hi]
 * through A) is given, three accuracy labels on the right. M: the plot's margins.
 */
export function drawAxes(ctx, t, { M, pw, ph, X, Y, yTicks, xmin = 0, xmax, A = null, accuracy = null }) {
  ctx.font = "11px system-ui, sans-serif";
  ctx.strokeStyle = t.grid;
  ctx.fillStyle = t.muted;
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const v of yTicks) {
    const y = Y(v);
    if (y < M.top - 1 || y > M.top + ph + 1) continue;
    ctx.beginPath();
    ctx.moveTo(M.left, Math.round(y) + 0.5);
    ctx.lineTo(M.left + pw, Math.round(y) + 0.5);
    ctx.stroke();
    ctx.fillText(tick(v), M.left - 5, y);
  }
  if (accuracy) {
    const [lo, hi] = accuracy;
    ctx.textAlign = "left";
    for (const v of [lo, (lo + hi) / 2, hi]) ctx.fillText(pct(v), M.left + pw + 5, A(v));
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const v of niceTicks(xmin, xmax, Math.max(2, Math.floor(pw / 90)))) {
    if (X(v) > M.left + pw - 40) continue; // leave room for the axis name
    ctx.fillText(tick(v), X(v), M.top + ph + 5);
  }
  ctx.textAlign = "right";
  ctx.fillText("step", M.left + pw, M.top + ph + 5);
}

/**
 * One accuracy per evaluation, `key` of each of `evals` ({step, [key]}; a missing value skips
 * its point): a line through them (dashed when `dash`) and a dot on each; the dots drawn.
 */
export function accuracyCurve(ctx, evals, key, X, A, { color, line = color, dash = null, dot = 3.5 }) {
  const pts = evals.filter((e) => typeof e[key] === "number");
  ctx.strokeStyle = line;
  ctx.fillStyle = color;
  ctx.lineWidth = 1.5;
  if (dash) ctx.setLineDash(dash);
  ctx.beginPath();
  pts.forEach((e, i) => (i ? ctx.lineTo(X(e.step), A(e[key])) : ctx.moveTo(X(e.step), A(e[key]))));
  ctx.stroke();
  if (dash) ctx.setLineDash([]);
  for (const e of pts) {
    ctx.beginPath();
    ctx.arc(X(e.step), A(e[key]), dot, 0, Math.PI * 2);
    ctx.fill();
  }
  return pts.length;
}

export function hexA(hex, a) {
  const h = hex.replace("#", "");
  const n = parseInt(h.length === 3 ? h.split("").map((c) => c + c).join("") : h, 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

export function niceTicks(min, max, count) {
  const span = max - min;
  if (!(span > 0)) return [min];
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}
