// Shared pieces of the gradient-descent toys (descent.js: a curve, descent-2d.js: a surface):
// one walker that takes gradient-descent steps p ← p − η·∇f(p) on a toy function of one or two
// numbers, a canvas that follows its CSS size, and an arrow. Pure
// maths of a toy function, not the network: the network's maths lives only in app/nn.

/** |∇f| below this counts as the bottom of a valley. */
export const SETTLED = 1e-4;
/** A walker that has not settled after this many steps gives up ("still bouncing"). */
export const MAX_STEPS = 20000;

export { fixed as fmt } from "./fmt.js"; // the toys' readouts: one page formatter

/**
 * Gradient descent on a toy function of `dims` numbers.
 * fn: {value(p) → number, grad(p) → number[], inside(p) → bool (still in the view)}.
 * status: "ready" | "flat" | "moving" | "overshoot" | "converged" | "diverged" | "unsettled".
 */
export class Walker {
  constructor(fn, start) {
    this.fn = fn;
    this.drop(start);
  }

  /** Put the ball at `p` (a fresh start: the path is cleared). */
  drop(p) {
    this.start = [...p];
    this.restart();
  }

  /** Back to where the ball was dropped. */
  restart() {
    this.p = [...this.start];
    this.path = [[...this.p]];
    this.steps = 0;
    this.overshoots = 0;
    this.lastOvershot = false;
    this.status = norm(this.fn.grad(this.p)) < SETTLED ? "flat" : "ready";
  }

  get finished() {
    return ["converged", "diverged", "unsettled", "flat"].includes(this.status);
  }

  /** The step the next press would take: −η·∇f(p). */
  nextStep(eta) {
    return this.fn.grad(this.p).map((g) => -eta * g);
  }

  /** One step of size η; returns the distance moved (in the function's units). */
  step(eta) {
    const g = this.fn.grad(this.p);
    const next = this.p.map((v, i) => v - eta * g[i]);
    const moved = Math.hypot(...next.map((v, i) => v - this.p[i]));
    this.p = next;
    this.path.push([...next]);
    this.steps++;
    if (!next.every(Number.isFinite) || !this.fn.inside(next)) {
      this.status = "diverged";
      return moved;
    }
    const g2 = this.fn.grad(next);
    // The slope turned against the last one: the step jumped past the bottom of the valley.
    this.lastOvershot = dot(g, g2) < 0;
    if (this.lastOvershot) this.overshoots++;
    if (norm(g2) < SETTLED) this.status = "converged";
    else if (this.steps >= MAX_STEPS) this.status = "unsettled";
    else this.status = this.lastOvershot || this.status === "overshoot" ? "overshoot" : "moving";
    return moved;
  }
}

/** What a walker's status means, in words (the x or point where it ended is appended). */
export function describe(w, where) {
  switch (w.status) {
    case "ready":
      return "ready: press Step or Run";
    case "flat":
      return "flat here: the slope is 0, so nothing pulls the ball. Drop it elsewhere.";
    case "moving":
      return "rolling downhill";
    case "overshoot":
      return "overshooting: steps jump past the bottom of the valley";
    case "converged": {
      const over = w.overshoots ? `, overshooting ${w.overshoots} times` : "";
      return `settled in a local minimum at ${where}, after ${w.steps} steps${over}`;
    }
    case "diverged":
      return "diverged: step size too large — the ball flew out of view";
    case "unsettled":
      return `not settled after ${w.steps} steps: still bouncing. Try a smaller step size.`;
    default:
      return w.status;
  }
}

export const norm = (v) => Math.hypot(...v);
const dot = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0);

/** A CSS custom property of the page theme (colors.js has the common ones). */
export function cssVar(name, fallback) {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/**
 * Keep `canvas` at its CSS size × devicePixelRatio; calls onResize(w, h) in CSS pixels.
 * Returns the 2-D context, already scaled so drawing is in CSS pixels.
 */
export function fitCanvas(canvas, onResize) {
  const ctx = canvas.getContext("2d");
  const fit = () => {
    const dpr = window.devicePixelRatio || 1;
    const r = canvas.getBoundingClientRect();
    const w = Math.max(120, Math.round(r.width));
    const h = Math.max(120, Math.round(r.height));
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    onResize(w, h);
  };
  new ResizeObserver(fit).observe(canvas);
  fit();
  return ctx;
}

/** An arrow from (x0, y0) to (x1, y1) in canvas pixels, with a head that fits short arrows. */
export function arrow(ctx, x0, y0, x1, y1, color, width = 2) {
  const len = Math.hypot(x1 - x0, y1 - y0);
  if (len < 0.5) return;
  const head = Math.min(9, Math.max(4, len * 0.45));
  const a = Math.atan2(y1 - y0, x1 - x0);
  ctx.save();
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.lineWidth = width;
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1 - Math.cos(a) * head * 0.6, y1 - Math.sin(a) * head * 0.6);
  ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x1 - head * Math.cos(a - 0.45), y1 - head * Math.sin(a - 0.45));
  ctx.lineTo(x1 - head * Math.cos(a + 0.45), y1 - head * Math.sin(a + 0.45));
  ctx.closePath();
  ctx.fill();
  ctx.restore();
}

/** A ball (filled disc with a ring in the card colour so it stands out on any line). */
export function ball(ctx, x, y, fill, ring, r = 7) {
  ctx.beginPath();
  ctx.arc(x, y, r, 0, 2 * Math.PI);
  ctx.fillStyle = fill;
  ctx.fill();
  ctx.lineWidth = 2;
  ctx.strokeStyle = ring;
  ctx.stroke();
}

/** Drop on press, follow the pointer while it is held down. */
export function bindPointer(canvas, drop) {
  canvas.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    canvas.setPointerCapture(e.pointerId);
    drop(e);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (canvas.hasPointerCapture(e.pointerId)) drop(e);
  });
}
