// The live cost chart on a <canvas>: every per-batch cost as a faint band, a smoothed bold
// line, and per-epoch validation/test accuracy on a right-hand axis. It stays fast at 100,000+
// points by reducing the data to one min/max pair per pixel column before drawing, so a frame
// costs O(points) arithmetic and O(width) canvas calls.

import { invalidate } from "./frame.js";
import { theme } from "./colors.js";
import { pct, short, tick } from "./fmt.js";

const M = { left: 48, right: 44, top: 12, bottom: 24 };
export const SMOOTHING = [0, 20, 100, 500]; // the learner's choices: an average over ~N steps
const DEFAULT_SMOOTHING = 100;

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

export class CostChart {
  constructor(canvas, tip) {
    this.canvas = canvas;
    this.tip = tip;
    this.ctx = canvas.getContext("2d");
    this.log = false;
    this.smoothing = DEFAULT_SMOOTHING;
    this.reset();
    this.hoverX = null;
    new ResizeObserver(() => this.resize()).observe(canvas);
    canvas.addEventListener("pointermove", (e) => this.hover(e));
    canvas.addEventListener("pointerdown", (e) => this.hover(e));
    canvas.addEventListener("pointerleave", () => {
      this.hoverX = null;
      this.tip.hidden = true;
      invalidate(this);
    });
    this.resize();
  }

  reset() {
    this.cost = new Series(this.smoothing);
    this.evals = []; // {step, epoch, val, test}
    invalidate(this);
  }

  get points() {
    return this.cost.n;
  }

  /** Columnar points as in the API: {step: [...], cost: [...]}. */
  addPoints(points) {
    if (!points || !points.step) return;
    const { step, cost } = points;
    const last = this.cost.n ? this.cost.x[this.cost.n - 1] : -Infinity;
    for (let i = 0; i < step.length; i++) {
      // A reconnect's snapshot plus late metrics may overlap: keep steps increasing.
      if (step[i] <= last && this.cost.n) continue;
      this.cost.push(step[i], cost[i]);
    }
    invalidate(this);
  }

  addEvaluation(ev) {
    if (this.evals.some((e) => e.epoch === ev.epoch)) return;
    this.evals.push({ step: ev.step, epoch: ev.epoch, val: ev.validation_accuracy, test: ev.test_accuracy });
    invalidate(this);
  }

  /** Smooth over ~`steps` training steps (0: raw points only). */
  setSmoothing(steps) {
    this.smoothing = steps;
    this.cost.setWindow(steps);
    invalidate(this);
  }

  setLog(on) {
    this.log = on;
    invalidate(this);
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const r = this.canvas.getBoundingClientRect();
    this.w = Math.max(200, r.width);
    this.h = Math.max(160, r.height);
    this.canvas.width = Math.round(this.w * dpr);
    this.canvas.height = Math.round(this.h * dpr);
    this.dpr = dpr;
    invalidate(this);
  }

  domain() {
    const c = this.cost;
    const xmin = 0;
    let xmax = c.n ? c.x[c.n - 1] : 100;
    for (const e of this.evals) xmax = Math.max(xmax, e.step);
    let ymin = Infinity;
    let ymax = -Infinity;
    for (let i = 0; i < c.n; i++) {
      const v = c.y[i];
      if (v < ymin) ymin = v;
      if (v > ymax) ymax = v;
    }
    if (!c.n) {
      ymin = 0.01;
      ymax = 1;
    }
    if (this.log) {
      ymin = Math.max(ymin, 1e-6);
      ymax = Math.max(ymax, ymin * 10);
      return { xmin, xmax: Math.max(xmax, 1), ymin: Math.log10(ymin), ymax: Math.log10(ymax) };
    }
    return { xmin, xmax: Math.max(xmax, 1), ymin: 0, ymax: ymax > 0 ? ymax * 1.05 : 1 };
  }

  render() {
    const ctx = this.ctx;
    const t = theme();
    const { w, h } = this;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const pw = w - M.left - M.right;
    const ph = h - M.top - M.bottom;
    const d = this.domain();
    const X = (x) => M.left + ((x - d.xmin) / (d.xmax - d.xmin)) * pw;
    const tr = this.log ? (v) => Math.log10(Math.max(v, 1e-6)) : (v) => v;
    const Y = (v) => M.top + ph - ((tr(v) - d.ymin) / (d.ymax - d.ymin)) * ph;
    this.mapping = { X, d, pw };

    // Axes and ticks
    ctx.font = "11px system-ui, sans-serif";
    ctx.strokeStyle = t.grid;
    ctx.fillStyle = t.muted;
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const v of yTicks(d, this.log)) {
      const y = Y(v);
      if (y < M.top - 1 || y > M.top + ph + 1) continue;
      ctx.beginPath();
      ctx.moveTo(M.left, Math.round(y) + 0.5);
      ctx.lineTo(M.left + pw, Math.round(y) + 0.5);
      ctx.stroke();
      ctx.fillText(tick(v), M.left - 5, y);
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const v of niceTicks(d.xmin, d.xmax, Math.max(2, Math.floor(pw / 90)))) {
      if (X(v) > M.left + pw - 40) continue; // leave room for the axis name
      ctx.fillText(tick(v), X(v), M.top + ph + 5);
    }
    ctx.textAlign = "right";
    ctx.fillText("step", M.left + pw, M.top + ph + 5);

    const c = this.cost;
    if (!c.n && !this.evals.length) {
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText("Start a run to see its cost fall.", M.left + pw / 2, M.top + ph / 2);
      return;
    }

    // Reduce to pixel columns: min/max raw and mean smoothed per column.
    const cols = Math.max(1, Math.floor(pw));
    const lo = new Float64Array(cols).fill(Infinity);
    const hi = new Float64Array(cols).fill(-Infinity);
    const sm = new Float64Array(cols);
    const cnt = new Uint32Array(cols);
    const span = d.xmax - d.xmin;
    for (let i = 0; i < c.n; i++) {
      let k = Math.floor(((c.x[i] - d.xmin) / span) * (cols - 1));
      if (k < 0) k = 0;
      else if (k >= cols) k = cols - 1;
      const v = c.y[i];
      if (v < lo[k]) lo[k] = v;
      if (v > hi[k]) hi[k] = v;
      sm[k] += c.s[i];
      cnt[k]++;
    }
    ctx.save();
    ctx.beginPath();
    ctx.rect(M.left, M.top, pw, ph);
    ctx.clip();
    // Faint raw points: a 2 px dot per column when sparse, the min–max band when dense.
    ctx.fillStyle = hexA(t.blue, 0.32);
    for (let k = 0; k < cols; k++) {
      if (!cnt[k]) continue;
      const y1 = Y(hi[k]);
      const y0 = Y(lo[k]);
      ctx.fillRect(M.left + k - 0.5, y1 - 1, 2, Math.max(2, y0 - y1 + 2));
    }
    ctx.strokeStyle = t.blue;
    ctx.lineWidth = 2;
    ctx.lineJoin = "round";
    ctx.beginPath();
    let started = false;
    for (let k = 0; k < cols; k++) {
      if (!cnt[k]) continue;
      const y = Y(sm[k] / cnt[k]);
      if (!started) {
        ctx.moveTo(M.left + k, y);
        started = true;
      } else ctx.lineTo(M.left + k, y);
    }
    ctx.stroke();
    ctx.restore();

    // Accuracy per epoch on the right axis (0..1)
    if (this.evals.length) {
      const [lo, hi] = this.accuracyAxis();
      const A = (v) => M.top + ph - ((v - lo) / (hi - lo)) * ph;
      ctx.fillStyle = t.muted;
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      for (const v of [lo, (lo + hi) / 2, hi]) ctx.fillText(pct(v), M.left + pw + 5, A(v));
      for (const [key, color] of [["val", t.accent], ["test", t.brown]]) {
        ctx.strokeStyle = color;
        ctx.fillStyle = color;
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        this.evals.forEach((e, i) => {
          if (e[key] === null || e[key] === undefined) return;
          if (i === 0) ctx.moveTo(X(e.step), A(e[key]));
          else ctx.lineTo(X(e.step), A(e[key]));
        });
        ctx.stroke();
        for (const e of this.evals) {
          if (e[key] === null || e[key] === undefined) continue;
          ctx.beginPath();
          ctx.arc(X(e.step), A(e[key]), 3.5, 0, Math.PI * 2);
          ctx.fill();
        }
      }
    }

    // Hover crosshair
    if (this.hoverX !== null && c.n) {
      const i = this.nearest(this.hoverX);
      const x = X(c.x[i]);
      ctx.strokeStyle = t.muted;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(Math.round(x) + 0.5, M.top);
      ctx.lineTo(Math.round(x) + 0.5, M.top + ph);
      ctx.stroke();
      ctx.fillStyle = t.accent;
      ctx.beginPath();
      ctx.arc(x, Y(c.y[i]), 3, 0, Math.PI * 2);
      ctx.fill();
    }
  }

  /** The accuracy axis [lo, 1]: from the tenth below the lowest accuracy so far, so 97% and
   * 98% are told apart once the network is good. */
  accuracyAxis() {
    let min = 1;
    for (const e of this.evals) {
      for (const v of [e.val, e.test]) if (typeof v === "number" && v < min) min = v;
    }
    return [Math.max(0, Math.floor((min - 0.02) * 10) / 10), 1];
  }

  nearest(step) {
    const c = this.cost;
    let a = 0;
    let b = c.n - 1;
    while (a < b) {
      const m = (a + b) >> 1;
      if (c.x[m] < step) a = m + 1;
      else b = m;
    }
    if (a > 0 && Math.abs(c.x[a - 1] - step) < Math.abs(c.x[a] - step)) a--;
    return a;
  }

  hover(e) {
    if (!this.mapping || !this.cost.n) return;
    const r = this.canvas.getBoundingClientRect();
    const px = e.clientX - r.left;
    const { d, pw } = this.mapping;
    const step = d.xmin + ((px - M.left) / pw) * (d.xmax - d.xmin);
    this.hoverX = step;
    const i = this.nearest(step);
    const c = this.cost;
    let text = `step ${c.x[i]} · cost ${short(c.y[i])} · smoothed ${short(c.s[i])}`;
    const ev = this.evals.find((v) => Math.abs(this.mapping.X(v.step) - px) < 8);
    if (ev) {
      text += ` · epoch ${ev.epoch}: val ${pct(ev.val, 2)}, test ${pct(ev.test, 2)}`;
    }
    this.tip.textContent = text;
    this.tip.hidden = false;
    invalidate(this);
  }
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

function yTicks(d, log) {
  if (!log) return niceTicks(d.ymin, d.ymax, 4);
  const out = [];
  for (let p = Math.floor(d.ymin); p <= Math.ceil(d.ymax); p++) out.push(10 ** p);
  return out;
}
