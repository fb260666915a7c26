// The compare page's chart: several runs' curves overlaid on one canvas, each run in its own
// colour: its cost smoothed over ~N steps (chart-kit.js's Series, the main page's smoothing) as a
// solid line on the left axis, its test accuracy per epoch as a dashed line with dots on the
// right axis. Like chart.js, each run is reduced to one value per pixel column before drawing.

import { Series, accuracyCurve, accuracyFloor, beginFrame, drawAxes, fitCanvas, hexA, niceTicks } from "./chart-kit.js";
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
    fitCanvas(this, 240, 180);
  }

  domain() {
    let xmax = 1;
    let ymax = 0;
    for (const r of this.runs) {
      const c = r.cost;
      if (c.n) xmax = Math.max(xmax, c.x[c.n - 1]);
      for (let i = 0; i < c.n; i++) ymax = Math.max(ymax, c.s[i]);
      for (const e of r.evals) xmax = Math.max(xmax, e.step);
    }
    const alo = accuracyFloor(this.runs.flatMap((r) => r.evals.map((e) => e.test)));
    return { xmax, ymax: ymax > 0 ? ymax * 1.05 : 1, alo };
  }

  render() {
    const { ctx, t, pw, ph } = beginFrame(this, M);
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
    drawAxes(ctx, t, { M, pw, ph, X, Y, yTicks: niceTicks(0, d.ymax, 4), xmax: d.xmax, A, accuracy: [d.alo, 1] });
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
    return accuracyCurve(ctx, r.evals, "test", X, A, { color: r.color, line: hexA(r.color, 0.9), dash: [5, 4] });
  }
}
