// Gradient descent on a curve: f(x) with three valleys, the ball, the tangent at the ball (its
// slope f′(x)), the step it causes Δx = −η·f′(x) as an arrow on a rail under the plot, where
// that step lands, and the hops taken so far. Click, tap or drag to drop the ball; the arrow
// keys move it. The walking itself is the shared Walker (descent-walk.js).

import { theme } from "./colors.js";
import { invalidate } from "./frame.js";
import { arrow, ball, bindPointer, cssVar, fitCanvas, fmt } from "./descent-walk.js";

// f(x) = x²/10 + sin 2x on [−5, 4]: three valleys of different depths; both ends of the view
// rise outward, so only a too-large step can leave it. Declared once, with its derivative.
export const CURVE = {
  label: "f(x) = x²/10 + sin 2x",
  min: -5,
  max: 4,
  start: 0.3,
  f: (x) => (x * x) / 10 + Math.sin(2 * x),
  df: (x) => x / 5 + 2 * Math.cos(2 * x),
};

export const CURVE_FN = {
  value: ([x]) => CURVE.f(x),
  grad: ([x]) => [CURVE.df(x)],
  inside: ([x]) => x >= CURVE.min && x <= CURVE.max,
};

const M = { left: 34, right: 12, top: 14, bottom: 40 };
const KEY_STEP = 0.05;

export class CurveView {
  constructor(canvas, walker, { onDrop, eta }) {
    this.canvas = canvas;
    this.walker = walker;
    this.onDrop = onDrop;
    this.eta = eta;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i <= 900; i++) {
      const y = CURVE.f(CURVE.min + ((CURVE.max - CURVE.min) * i) / 900);
      lo = Math.min(lo, y);
      hi = Math.max(hi, y);
    }
    const pad = (hi - lo) * 0.08;
    this.yMin = lo - pad;
    this.yMax = hi + pad;
    this.ctx = fitCanvas(canvas, (w, h) => this.resize(w, h));
    bindPointer(canvas, (e) => this.dropAt(e));
    canvas.addEventListener("keydown", (e) => this.key(e));
  }

  resize(w, h) {
    this.w = w;
    this.h = h;
    this.plot = { x: M.left, y: M.top, w: w - M.left - M.right, h: h - M.top - M.bottom };
    invalidate(this);
  }

  themeChanged() {
    invalidate(this);
  }

  pxPerUnit() {
    return this.plot.w / (CURVE.max - CURVE.min);
  }

  px(x) {
    return this.plot.x + ((x - CURVE.min) / (CURVE.max - CURVE.min)) * this.plot.w;
  }

  py(y) {
    return this.plot.y + ((this.yMax - y) / (this.yMax - this.yMin)) * this.plot.h;
  }

  fromPx(px) {
    const x = CURVE.min + ((px - this.plot.x) / this.plot.w) * (CURVE.max - CURVE.min);
    return Math.max(CURVE.min, Math.min(CURVE.max, x));
  }

  dropAt(e) {
    this.onDrop([this.fromPx(e.clientX - this.canvas.getBoundingClientRect().left)]);
  }

  key(e) {
    const d = (e.shiftKey ? 10 : 1) * KEY_STEP * { ArrowLeft: -1, ArrowRight: 1 }[e.key];
    if (!d) return;
    e.preventDefault();
    const w = this.walker;
    const x = CURVE_FN.inside(w.p) ? w.p[0] : w.start[0];
    this.onDrop([Math.max(CURVE.min, Math.min(CURVE.max, x + d))]);
  }

  /** Client (page) coordinates of the curve at x, for tests. */
  clientPoint(x) {
    const r = this.canvas.getBoundingClientRect();
    return { x: r.left + this.px(x), y: r.top + this.py(CURVE.f(x)) };
  }

  render() {
    const { ctx } = this;
    const t = theme();
    ctx.clearRect(0, 0, this.w, this.h);
    this.axes(t);
    ctx.save();
    ctx.beginPath();
    ctx.rect(this.plot.x, 0, this.plot.w, this.h);
    ctx.clip();
    this.curve(t);
    this.trail(t);
    if (this.walker.status === "diverged") {
      ctx.fillStyle = cssVar("--danger", "#ff9b7a");
      ctx.font = "600 13px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.fillText("diverged: step size too large", this.plot.x + this.plot.w / 2, this.plot.y + 14);
    } else {
      this.tangentAndStep(t);
    }
    ctx.restore();
  }

  axes(t) {
    const { ctx, plot } = this;
    ctx.strokeStyle = t.grid;
    ctx.lineWidth = 1;
    ctx.fillStyle = t.muted;
    ctx.font = "11px system-ui, sans-serif";
    ctx.beginPath();
    for (let x = Math.ceil(CURVE.min); x <= CURVE.max; x++) {
      ctx.moveTo(Math.round(this.px(x)) + 0.5, plot.y);
      ctx.lineTo(Math.round(this.px(x)) + 0.5, plot.y + plot.h);
    }
    for (let y = Math.ceil(this.yMin); y <= this.yMax; y++) {
      ctx.moveTo(plot.x, Math.round(this.py(y)) + 0.5);
      ctx.lineTo(plot.x + plot.w, Math.round(this.py(y)) + 0.5);
    }
    ctx.stroke();
    ctx.textAlign = "center";
    for (let x = Math.ceil(CURVE.min); x <= CURVE.max; x++) ctx.fillText(String(x), this.px(x), plot.y + plot.h + 14);
    ctx.textAlign = "right";
    for (let y = Math.ceil(this.yMin); y <= this.yMax; y++) ctx.fillText(String(y), plot.x - 6, this.py(y) + 4);
  }

  curve(t) {
    const { ctx, plot } = this;
    ctx.strokeStyle = t.blue;
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    for (let i = 0; i <= plot.w; i++) {
      const x = CURVE.min + (i / plot.w) * (CURVE.max - CURVE.min);
      if (i === 0) ctx.moveTo(plot.x + i, this.py(CURVE.f(x)));
      else ctx.lineTo(plot.x + i, this.py(CURVE.f(x)));
    }
    ctx.stroke();
  }

  /** The steps taken so far, as hops between landing points (arcs, so a zig-zag shows). */
  trail(t) {
    const { ctx } = this;
    const pts = this.walker.path
      .slice(-300)
      .filter(([x]) => Number.isFinite(x) && CURVE_FN.inside([x]))
      .map(([x]) => [this.px(x), this.py(CURVE.f(x))]);
    if (pts.length < 2) return;
    ctx.strokeStyle = t.accent;
    ctx.fillStyle = t.accent;
    ctx.globalAlpha = 0.7;
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    for (let i = 1; i < pts.length; i++) {
      const [x0, y0] = pts[i - 1];
      const [x1, y1] = pts[i];
      const lift = Math.min(40, 0.3 * Math.hypot(x1 - x0, y1 - y0));
      ctx.moveTo(x0, y0);
      ctx.quadraticCurveTo((x0 + x1) / 2, Math.min(y0, y1) - lift, x1, y1);
    }
    ctx.stroke();
    for (const [x, y] of pts) ctx.fillRect(x - 1.5, y - 1.5, 3, 3);
    ctx.globalAlpha = 1;
  }

  tangentAndStep(t) {
    const { ctx, plot } = this;
    const w = this.walker;
    const x = w.p[0];
    const slope = CURVE.df(x);
    const bx = this.px(x);
    const by = this.py(CURVE.f(x));
    // The tangent: 60 px long on screen whatever its steepness.
    const kx = plot.w / (CURVE.max - CURVE.min);
    const ky = plot.h / (this.yMax - this.yMin);
    const dirX = 1;
    const dirY = -slope * (ky / kx);
    const n = 60 / Math.hypot(dirX, dirY);
    ctx.strokeStyle = t.text;
    ctx.lineWidth = 1.5;
    ctx.setLineDash([5, 4]);
    ctx.beginPath();
    ctx.moveTo(bx - dirX * n, by - dirY * n);
    ctx.lineTo(bx + dirX * n, by + dirY * n);
    ctx.stroke();
    ctx.setLineDash([]);
    // The step it causes, Δx = −η·f′(x), on a rail under the plot, and where it lands.
    const dx = w.nextStep(this.eta())[0];
    const rail = plot.y + plot.h + 28;
    ctx.strokeStyle = t.grid;
    ctx.beginPath();
    ctx.moveTo(bx, by + 9);
    ctx.lineTo(bx, rail);
    ctx.stroke();
    arrow(ctx, bx, rail, this.px(x + dx), rail, t.brown, 3);
    ctx.fillStyle = t.brown;
    ctx.font = "600 11px system-ui, sans-serif";
    ctx.textAlign = dx >= 0 ? "right" : "left";
    ctx.fillText(`Δx = ${fmt(dx, 3)}`, bx + (dx >= 0 ? -6 : 6), rail + 4);
    if (!w.finished && CURVE_FN.inside([x + dx])) {
      ctx.beginPath();
      ctx.arc(this.px(x + dx), this.py(CURVE.f(x + dx)), 6, 0, 2 * Math.PI);
      ctx.strokeStyle = t.accent;
      ctx.lineWidth = 1.5;
      ctx.setLineDash([3, 3]);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    ball(ctx, bx, by, t.accent, t.bg, 7);
  }
}

/** Readouts of the curve walker: {testid suffix: text}. */
export function curveReadouts(w, eta) {
  const x = w.p[0];
  return {
    x: fmt(x),
    fx: fmt(CURVE.f(x)),
    slope: fmt(CURVE.df(x)),
    step: fmt(w.nextStep(eta)[0]),
    steps: String(w.steps),
  };
}
