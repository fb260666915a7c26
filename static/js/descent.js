// "Gradient descent, on a curve": the video's ball rolling downhill, on toy functions. Drop a
// ball on the curve (descent-curve.js) or the surface (descent-2d.js), choose a step size η,
// then Step or Run: each step moves the ball by −η × the slope. One set of controls drives both
// balls. For small η each ends in the local minimum downhill from where it was dropped; too
// large an η overshoots the bottom or throws the ball out of view. Toy maths in JS on purpose:
// the network's maths lives only in app/nn.

import { resetTheme } from "./colors.js";
import { invalidate } from "./frame.js";
import { CURVE, CURVE_FN, CurveView, curveReadouts } from "./descent-curve.js";
import { SURFACE, SurfaceView, surfaceReadouts } from "./descent-2d.js";
import { Walker, describe, fmt } from "./descent-walk.js";

const ETA = { initial: 0.1, min: 1e-4, max: 1000 };
const BURST_PX = 2; // while running, tiny steps are batched until the ball moves this far…
const BURST_STEPS = 60; // …or this many steps were taken in one frame
const PAUSE_PER_PX = 6; // ms to linger after a step, per pixel it moved (big hops stay visible)
const MAX_PAUSE = 280;

/** Wire the panel inside `root` (the template's #descent section); returns the test hooks. */
export function initDescent(root) {
  if (!root) return null;
  return new DescentPanel(root).hooks();
}

class DescentPanel {
  constructor(root) {
    this.root = root;
    this.eta = ETA.initial;
    this.running = false;
    const q = (id) => root.querySelector(`#${id}`);
    const opts = { onDrop: null, eta: () => this.eta };
    const curve = new Walker(CURVE_FN, [CURVE.start]);
    const surface = new Walker(SURFACE, SURFACE.start);
    this.items = [
      {
        name: "descent",
        walker: curve,
        view: new CurveView(q("descent-curve"), curve, { ...opts, onDrop: (p) => this.drop(0, p) }),
        readouts: curveReadouts,
        where: (w) => `x = ${fmt(w.p[0])}`,
      },
      {
        name: "descent2d",
        walker: surface,
        view: new SurfaceView(q("descent-surface"), surface, { ...opts, onDrop: (p) => this.drop(1, p) }),
        readouts: surfaceReadouts,
        where: (w) => `(${fmt(w.p[0])}, ${fmt(w.p[1])})`,
      },
    ];
    for (const item of this.items) item.nextAt = 0;
    this.bindControls(q);
    new MutationObserver(() => {
      resetTheme();
      for (const item of this.items) item.view.themeChanged();
    }).observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    this.changed();
  }

  bindControls(q) {
    this.range = q("descent-eta-range");
    this.field = q("descent-eta");
    this.error = q("descent-eta-error");
    this.runButton = q("descent-run");
    this.range.addEventListener("input", () => this.setEta(+(10 ** +this.range.value).toPrecision(3), "range"));
    this.field.addEventListener("input", () => this.etaTyped());
    q("descent-step-button").addEventListener("click", () => this.stepOnce());
    this.runButton.addEventListener("click", () => (this.running ? this.pause() : this.run()));
    q("descent-reset").addEventListener("click", () => this.reset());
    this.setEta(ETA.initial);
  }

  etaTyped() {
    const v = Number(this.field.value);
    const ok = this.field.value.trim() !== "" && Number.isFinite(v) && v >= ETA.min && v <= ETA.max;
    this.field.setAttribute("aria-invalid", String(!ok));
    this.error.textContent = ok ? "" : `The step size must be a number from ${ETA.min} to ${ETA.max}.`;
    if (ok) this.setEta(v, "field");
  }

  setEta(v, from = null) {
    this.eta = v;
    if (from !== "field") this.field.value = String(v);
    if (from !== "range") this.range.value = String(Math.log10(v));
    this.range.setAttribute("aria-valuetext", `η = ${v}`);
    if (from !== "field") {
      this.field.setAttribute("aria-invalid", "false");
      this.error.textContent = "";
    }
    this.changed();
  }

  drop(index, p) {
    const item = this.items[index];
    item.walker.drop(p);
    item.nextAt = 0;
    if (this.running && !this.looping) this.loop();
    this.changed();
  }

  /** When every ball has finished, Step and Run start them again from where they were dropped. */
  restartIfDone() {
    if (this.items.every((it) => it.walker.finished)) for (const it of this.items) it.walker.restart();
  }

  stepOnce() {
    this.pause();
    this.restartIfDone();
    for (const { walker } of this.items) if (!walker.finished) walker.step(this.eta);
    this.changed();
  }

  run() {
    this.restartIfDone();
    this.running = true;
    for (const item of this.items) item.nextAt = 0;
    this.loop();
    this.changed();
  }

  pause() {
    this.running = false;
    this.changed();
  }

  reset() {
    this.pause();
    for (const { walker } of this.items) walker.restart();
    this.changed();
  }

  loop() {
    this.looping = true;
    requestAnimationFrame((now) => this.tick(now));
  }

  tick(now) {
    if (!this.running) {
      this.looping = false;
      return;
    }
    for (const item of this.items) this.burst(item, now);
    if (this.items.every((it) => it.walker.finished)) {
      this.looping = false;
      this.pause();
      return;
    }
    this.changed();
    requestAnimationFrame((t) => this.tick(t));
  }

  /** Steps for one frame: batched while they are tiny, one at a time (then a pause) when big. */
  burst(item, now) {
    const w = item.walker;
    if (w.finished || now < item.nextAt) return;
    let px = 0;
    for (let n = 0; n < BURST_STEPS && px < BURST_PX && !w.finished; n++) {
      px += w.step(this.eta) * item.view.pxPerUnit();
    }
    item.nextAt = now + Math.min(MAX_PAUSE, px * PAUSE_PER_PX);
  }

  changed() {
    for (const item of this.items) invalidate(item.view);
    invalidate(this);
  }

  /** The readouts, status lines and Run button (through frame.js, once per frame). */
  render() {
    const set = (el, text) => {
      if (el && el.textContent !== text) el.textContent = text;
    };
    for (const item of this.items) {
      const texts = item.readouts(item.walker, this.eta);
      for (const [key, text] of Object.entries(texts)) {
        set(this.root.querySelector(`[data-testid="${item.name}-${key}"]`), text);
      }
      const status = this.root.querySelector(`[data-testid="${item.name}-status"]`);
      const w = item.walker;
      const running = this.running && !w.finished;
      set(status, running && w.status === "ready" ? "rolling downhill" : describe(w, item.where(w)));
      status.dataset.status = w.status;
    }
    const [curve] = this.items;
    const x = curve.walker.p[0];
    const inView = Number.isFinite(x) ? Math.max(CURVE.min, Math.min(CURVE.max, x)) : CURVE.start;
    curve.view.canvas.setAttribute("aria-valuenow", String(+inView.toFixed(4)));
    curve.view.canvas.setAttribute("aria-valuetext", `x = ${fmt(x)}, slope ${fmt(CURVE.df(x))}`);
    set(this.runButton, this.running ? "Pause" : "Run");
  }

  hooks() {
    const [curve, surface] = this.items;
    const snapshot = (item) => ({
      p: [...item.walker.p],
      steps: item.walker.steps,
      status: item.walker.status,
      path: item.walker.path.map((p) => [...p]),
      running: this.running,
      eta: this.eta,
    });
    return {
      drop: (x) => this.drop(0, [x]),
      drop2d: (x, y) => this.drop(1, [x, y]),
      state: () => ({ ...snapshot(curve), x: curve.walker.p[0], view: [CURVE.min, CURVE.max] }),
      state2d: () => ({ ...snapshot(surface), view: [SURFACE.min, SURFACE.max] }),
      clientPoint: (x) => curve.view.clientPoint(x),
      clientPoint2d: (x, y) => surface.view.clientPoint([x, y]),
    };
  }
}
