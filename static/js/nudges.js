// Gradient descent on your drawing, in the real network: the network view's toggle between
// "activations" and "nudges" (neurons and connections coloured by −∂C/∂a and −∂C/∂w for the
// chosen label, from /api/explain), and "Take one step": plain SGD steps for this one example
// on a scratch copy of the model (/api/explain/step), with cost and prediction before and after.

import { describeError, post } from "./api.js";
import { num, percent } from "./fmt.js";

const $ = (id) => document.getElementById(id);
const MAX_FULL = 20000; // the API sends a whole layer's ∂C/∂W only up to this many weights
const MAX_STEPS = 50;

const neg = (v) => v.map((x) => -x);

export class Nudges {
  /** on: {mode(mode), body() → {body, model, label, quadratic} | null} */
  constructor(netView, on) {
    this.netView = netView;
    this.on = on;
    this.mode = "activations";
    this.steps = 0;
    for (const r of document.querySelectorAll("input[name=net-mode]")) {
      r.addEventListener("change", () => this.setMode(r.value));
    }
    $("step-take").addEventListener("click", () => this.step(this.steps + 1));
    $("step-reset").addEventListener("click", () => this.reset());
    $("step-lr").addEventListener("change", () => this.steps && this.step(this.steps));
  }

  setMode(mode) {
    this.mode = mode;
    $("nudge-legend").hidden = mode !== "nudges";
    $("act-legend").hidden = mode === "nudges";
    this.on.mode(mode);
  }

  /** The grad_weights to ask /api/explain for: every layer small enough, in nudges mode. */
  gradRequest(sizes) {
    if (this.mode !== "nudges" || !sizes) return [];
    const out = [];
    for (let l = 0; l < sizes.length - 1; l++) if (sizes[l] * sizes[l + 1] <= MAX_FULL) out.push({ layer: l });
    const big = sizes.length - 1 - out.length;
    $("nudge-big").textContent = big ? ` Connections of layers over ${MAX_FULL.toLocaleString("en")} weights are not drawn.` : "";
    return out;
  }

  /** A new explanation (or null): redraw the nudges if they are shown. */
  show(res) {
    if (this.mode !== "nudges") {
      this.netView.setMode("activations", null);
      return;
    }
    if (!res) {
      this.netView.setMode("nudges", null);
      return;
    }
    const weights = res.zs.map(() => null);
    for (const g of res.grad_weights) {
      if (g.neurons.length === res.zs[g.layer].length) weights[g.layer] = g.values.map(neg);
    }
    this.netView.setMode("nudges", { acts: res.grad_activations.map(neg), weights });
  }

  /** A new drawing, label or model: earlier steps no longer apply. */
  reset() {
    this.steps = 0;
    $("step-log").replaceChildren();
    $("step-message").textContent = "";
  }

  async step(n) {
    const cur = this.on.body();
    if (!cur) {
      $("step-message").textContent = "Draw a digit first.";
      return;
    }
    const lr = Number($("step-lr").value);
    const steps = Math.min(MAX_STEPS, n);
    try {
      const res = await post("/api/explain/step", { ...cur.body, model: cur.model, label: cur.label, learning_rate: lr, steps });
      this.steps = steps;
      this.log(res, cur.quadratic);
      $("step-message").textContent = steps === MAX_STEPS ? `At most ${MAX_STEPS} steps; Reset to start again.` : "";
    } catch (err) {
      $("step-message").textContent = describeError(err);
    }
  }

  log(res, quadratic) {
    const rows = res.states.map((s, k) => {
      const li = document.createElement("li");
      li.dataset.testid = "step-state";
      const conf = s.probabilities[s.digit];
      li.append(`${k === 0 ? "before" : `after ${k} step${k > 1 ? "s" : ""}`}: cost `);
      const c = document.createElement("strong");
      c.className = "num";
      c.textContent = num(quadratic ? 2 * s.cost : s.cost);
      li.append(c, `, predicts ${s.digit} (${percent(conf)})`);
      return li;
    });
    $("step-log").replaceChildren(...rows);
  }
}
