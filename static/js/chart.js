// The live cost chart on a <canvas>: every per-batch cost as a faint band, a smoothed bold
// line, and per-epoch validation/test accuracy on a right-hand axis, with the accuracy on the
// learner's held-out drawings beside them when the run trains on drawings (issue 17 §2); the
// axes, smoothing and curves it shares with the compare page live in chart-kit.js. It stays
// fast at 100,000+ points by reducing the data to one min/max pair per pixel column before drawing, so a frame
// costs O(points) arithmetic and O(width) canvas calls.

import { DEFAULT_SMOOTHING, Series, accuracyCurve, accuracyFloor, beginFrame, drawAxes, fitCanvas, hexA, niceTicks } from "./chart-kit.js";
import { invalidate } from "./frame.js";
import { pct, short } from "./fmt.js";

const M = { left: 48, right: 44, top: 12, bottom: 24 };
export const SMOOTHING = [0, 20, 100, 500]; // the learner's choices: an average over ~N steps

export class CostChart {
  /** drawingsLegend: the legend's entry for the drawings' curve, shown while there is one. */
  constructor(canvas, tip, drawingsLegend = null) {
    this.canvas = canvas;
    this.tip = tip;
    this.drawingsLegend = drawingsLegend;
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
    this.evals = []; // {step, epoch, val, test, drawings}
    this.showLegend();
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
    this.evals.push({
      step: ev.step,
      epoch: ev.epoch,
      val: ev.validation_accuracy,
      test: ev.test_accuracy,
      drawings: ev.drawings_accuracy ?? null, // null: the run has no held-out drawings
    });
    this.showLegend();
    invalidate(this);
  }

  /** Evaluations with an accuracy on the held-out drawings so far. */
  get drawingsPoints() {
    return this.evals.filter((e) => typeof e.drawings === "number").length;
  }

  showLegend() {
    if (this.drawingsLegend) this.drawingsLegend.hidden = !this.drawingsPoints;
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
    fitCanvas(this, 200, 160);
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
    const { ctx, t, pw, ph } = beginFrame(this, M);
    const d = this.domain();
    const X = (x) => M.left + ((x - d.xmin) / (d.xmax - d.xmin)) * pw;
    const tr = this.log ? (v) => Math.log10(Math.max(v, 1e-6)) : (v) => v;
    const Y = (v) => M.top + ph - ((tr(v) - d.ymin) / (d.ymax - d.ymin)) * ph;
    this.mapping = { X, d, pw };

    const accuracy = this.evals.length ? this.accuracyAxis() : null;
    const A = accuracy ? (v) => M.top + ph - ((v - accuracy[0]) / (accuracy[1] - accuracy[0])) * ph : null;
    drawAxes(ctx, t, { M, pw, ph, X, Y, yTicks: yTicks(d, this.log), xmin: d.xmin, xmax: d.xmax, A, accuracy });

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

    // Accuracy per epoch on the right axis: validation, MNIST test and (dashed) the
    // learner's held-out drawings.
    if (accuracy) {
      accuracyCurve(ctx, this.evals, "val", X, A, { color: t.accent });
      accuracyCurve(ctx, this.evals, "test", X, A, { color: t.brown });
      accuracyCurve(ctx, this.evals, "drawings", X, A, { color: t.drawings, dash: [5, 3], dot: 4 });
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
    return [accuracyFloor(this.evals.flatMap((e) => [e.val, e.test, e.drawings])), 1];
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
      if (typeof ev.drawings === "number") text += `, your drawings ${pct(ev.drawings, 1)}`;
    }
    this.tip.textContent = text;
    this.tip.hidden = false;
    invalidate(this);
  }
}

function yTicks(d, log) {
  if (!log) return niceTicks(d.ymin, d.ymax, 4);
  const out = [];
  for (let p = Math.floor(d.ymin); p <= Math.ceil(d.ymax); p++) out.push(10 ** p);
  return out;
}
