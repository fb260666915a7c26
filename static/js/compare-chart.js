// The compare page's chart: several runs' curves overlaid on one canvas, each run in its own
// colour: its cost smoothed over ~N steps (chart.js's Series, the main page's smoothing) as a
// solid line on the left axis, its test accuracy per epoch as a dashed line with dots on the
// right axis. Like chart.js, each run is reduced to one value per pixel column before drawing.

import { Series, hexA, niceTicks } from "./chart.js";
import { theme } from "./colors.js";
import { pct, tick } from "./fmt.js";
import { invalidate } from "./frame.js";

const M = { left: 48, right: 48, top: 12, bottom: 24 };
// Told apart by people with the common colour-vision deficiencies (Okabe & Ito's palette).
export const PALETTE = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#999999"];

export class CompareChart {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.smoothing = 100;
    this.runs = []; // {id, color, cost: Series, evals: [{step, test}]}
    this.drawn = []; // per run, what the last frame drew (tests read it)
    new ResizeObserver(() => this.resize()).observe(canvas);
    this.resize();
  }

  /** Show these runs (RunDetail each, with its history), coloured in order. */
  setRuns(details) {
    this.runs = details.map((r, i) => {
      const cost = new Series(this.smoothing);
      const m = (r.history && r.history.metrics) || { step: [], cost: [] };
      for (let k = 0; k < m.step.length; k++) if (m.cost[k] !== null) cost.push(m.step[k], m.cost[k]);
      const evals = ((r.history && r.history.evaluations) || []).map((e) => ({ step: e.step, test: e.test_accuracy }));
      return { id: r.id, color: PALETTE[i % PALETTE.length], cost, evals };
    });
    invalidate(this);
  }

  setSmoothing(steps) {
    this.smoothing = steps;
    for (const r of this.runs) r.cost.setWindow(steps);
    invalidate(this);
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const rect = this.canvas.getBoundingClientRect();
    this.w = Math.max(240, rect.width);
    this.h = Math.max(180, rect.height);
    this.canvas.width = Math.round(this.w * dpr);
    this.canvas.height = Math.round(this.h * dpr);
    this.dpr = dpr;
    invalidate(this);
  }

  domain() {
    let xmax = 1;
    let ymax = 0;
    let amin = 1;
    for (const r of this.runs) {
      const c = r.cost;
      if (c.n) xmax = Math.max(xmax, c.x[c.n - 1]);
      for (let i = 0; i < c.n; i++) ymax = Math.max(ymax, c.s[i]);
      for (const e of r.evals) {
        xmax = Math.max(xmax, e.step);
        if (typeof e.test === "number") amin = Math.min(amin, e.test);
      }
    }
    const alo = Math.max(0, Math.floor((amin - 0.02) * 10) / 10);
    return { xmax, ymax: ymax > 0 ? ymax * 1.05 : 1, alo };
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
    const X = (x) => M.left + (x / d.xmax) * pw;
    const Y = (v) => M.top + ph - (v / d.ymax) * ph;
    const A = (v) => M.top + ph - ((v - d.alo) / (1 - d.alo)) * ph;
    this.axes(ctx, t, d, { X, Y, A, pw, ph });
    this.drawn = [];
    if (!this.runs.length) {
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText("Pick runs to compare.", M.left + pw / 2, M.top + ph / 2);
      return;
    }
    ctx.save();
    ctx.beginPath();
    ctx.rect(M.left, M.top, pw, ph);
    ctx.clip();
    for (const r of this.runs) {
      const columns = this.costLine(ctx, r, X, Y, pw, d.xmax);
      const dots = this.accuracyLine(ctx, r, X, A);
      this.drawn.push({ id: r.id, color: r.color, points: r.cost.n, columns, evaluations: dots });
    }
    ctx.restore();
  }

  axes(ctx, t, d, { X, Y, A, pw, ph }) {
    ctx.font = "11px system-ui, sans-serif";
    ctx.strokeStyle = t.grid;
    ctx.fillStyle = t.muted;
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const v of niceTicks(0, d.ymax, 4)) {
      const y = Math.round(Y(v)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(M.left, y);
      ctx.lineTo(M.left + pw, y);
      ctx.stroke();
      ctx.fillText(tick(v), M.left - 5, y);
    }
    ctx.textAlign = "left";
    for (const v of [d.alo, (d.alo + 1) / 2, 1]) ctx.fillText(pct(v), M.left + pw + 5, A(v));
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const v of niceTicks(0, d.xmax, Math.max(2, Math.floor(pw / 90)))) {
      if (X(v) > M.left + pw - 40) continue;
      ctx.fillText(tick(v), X(v), M.top + ph + 5);
    }
    ctx.textAlign = "right";
    ctx.fillText("step", M.left + pw, M.top + ph + 5);
  }

  /** The run's smoothed cost, one mean per pixel column; the number of columns drawn. */
  costLine(ctx, r, X, Y, pw, xmax) {
    const c = r.cost;
    const cols = Math.max(1, Math.floor(pw));
    const sum = new Float64Array(cols);
    const cnt = new Uint32Array(cols);
    for (let i = 0; i < c.n; i++) {
      const k = Math.min(cols - 1, Math.max(0, Math.floor((c.x[i] / xmax) * (cols - 1))));
      sum[k] += c.s[i];
      cnt[k]++;
    }
    ctx.strokeStyle = r.color;
    ctx.lineWidth = 2;
    ctx.lineJoin = "round";
    ctx.beginPath();
    let drawn = 0;
    for (let k = 0; k < cols; k++) {
      if (!cnt[k]) continue;
      const y = Y(sum[k] / cnt[k]);
      if (drawn++ === 0) ctx.moveTo(M.left + k, y);
      else ctx.lineTo(M.left + k, y);
    }
    ctx.stroke();
    return drawn;
  }

  /** The run's test accuracy per epoch: dashed, with a dot each; the number of dots. */
  accuracyLine(ctx, r, X, A) {
    const pts = r.evals.filter((e) => typeof e.test === "number");
    ctx.strokeStyle = hexA(r.color, 0.9);
    ctx.fillStyle = r.color;
    ctx.lineWidth = 1.5;
    ctx.setLineDash([5, 4]);
    ctx.beginPath();
    pts.forEach((e, i) => (i ? ctx.lineTo(X(e.step), A(e.test)) : ctx.moveTo(X(e.step), A(e.test))));
    ctx.stroke();
    ctx.setLineDash([]);
    for (const e of pts) {
      ctx.beginPath();
      ctx.arc(X(e.step), A(e.test), 3.5, 0, Math.PI * 2);
      ctx.fill();
    }
    return pts.length;
  }
}
