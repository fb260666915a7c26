// Gradient descent on your drawing, in the real network: the network view's toggle between
// "activations" and "nudges" (neurons and connections coloured by −∂C/∂a and −∂C/∂w for the
// chosen label, from /api/explain), and "Take one step": plain SGD steps for this one example
// on a scratch copy of the model (/api/explain/step), with cost and prediction before and after.

import { describeError, post } from "./api.js";
import { count, num, pct } from "./fmt.js";

const $ = (id) => document.getElementById(id);
const MAX_FULL = 20000; // the API sends a whole layer's ∂C/∂W only up to this many weights
const MAX_STEPS = 50;
const TOP_ROWS = 32; // rows of a big layer's ∂C/∂W drawn in nudges mode
const BATCH = 32; // training digits averaged, as a training mini-batch

const neg = (v) => v.map((x) => -x);

export class Nudges {
  /** on: {mode(mode), refetch(), model(), body() → {body, model, label, quadratic} | null} */
  constructor(netView, on) {
    this.netView = netView;
    this.on = on;
    this.mode = "activations";
    this.source = "example";
    this.example = null; // the drawing's explanation
    this.batch = null; // the mini-batch's
    this.rows = new Map(); // big layer → the rows of ∂C/∂W to ask for
    this.steps = 0;
    for (const r of document.querySelectorAll("input[name=net-mode]")) {
      r.addEventListener("change", () => this.setMode(r.value));
    }
    for (const r of document.querySelectorAll("input[name=nudge-source]")) {
      r.addEventListener("change", () => this.setSource(r.value));
    }
    $("step-take").addEventListener("click", () => this.step(this.steps + 1));
    $("step-reset").addEventListener("click", () => this.reset());
    // The steps taken were at the old rate: say so and start again, rather than silently
    // replaying them all at the new one.
    $("step-lr").addEventListener("change", () => {
      if (!this.steps) return;
      this.reset();
      $("step-message").textContent = `The learning rate is now ${$("step-lr").value}: the steps so far were taken at the old rate, so they start again from the real model. Take one step to go on.`;
    });
  }

  setMode(mode) {
    this.mode = mode;
    $("nudge-legend").hidden = mode !== "nudges";
    $("nudge-source").hidden = mode !== "nudges";
    $("batch-note").hidden = mode !== "nudges" || this.source !== "batch";
    $("act-legend").hidden = mode === "nudges";
    this.on.mode(mode);
    if (mode === "nudges" && this.source === "batch") this.setSource("batch");
  }

  /**
   * The grad_weights to ask /api/explain for, in nudges mode: every small layer whole; of a
   * big layer, the rows (neurons) the last answer showed to be nudged hardest.
   */
  gradRequest(sizes) {
    if (this.mode !== "nudges" || !sizes) return [];
    const out = [];
    let big = false;
    for (let l = 0; l < sizes.length - 1; l++) {
      if (sizes[l] * sizes[l + 1] <= MAX_FULL) out.push({ layer: l });
      else {
        big = true;
        if (this.rows.has(l)) out.push({ layer: l, neurons: this.rows.get(l) });
      }
    }
    $("nudge-big").textContent = big ? ` In layers over ${count(MAX_FULL)} weights, the connections of the ${TOP_ROWS} most nudged neurons.` : "";
    return out;
  }

  /** A new explanation of the drawing (or null): redraw the nudges if they are shown. */
  show(res) {
    this.example = res;
    if (this.mode !== "nudges") {
      this.netView.setMode("activations", null);
      return;
    }
    if (res && this.wantRows(res)) this.on.refetch();
    this.draw();
  }

  draw() {
    const res = this.source === "batch" ? this.batch : this.example;
    if (!res) {
      this.netView.setMode("nudges", null);
      return;
    }
    const weights = res.zs.map(() => null);
    for (const g of res.grad_weights) {
      const n = res.zs[g.layer].length;
      const m = g.values[0] ? g.values[0].length : 0;
      const full = g.neurons.length === n ? null : Array.from({ length: n }, () => new Array(m).fill(0));
      g.neurons.forEach((j, k) => {
        if (full) full[j] = neg(g.values[k]);
      });
      weights[g.layer] = full || g.values.map(neg);
    }
    this.netView.setMode("nudges", { acts: res.grad_activations.map(neg), weights });
  }

  /** Pick the big layers' most nudged rows (largest |∂C/∂b|); true if they changed. A layer is
   * big as gradRequest judges it: by the network's sizes (the explanation's activations start
   * at the first hidden layer, so they don't hold the input size). */
  wantRows(res) {
    const sizes = this.netView.sizes;
    if (!sizes) return false;
    let changed = false;
    res.grad_biases.forEach((gb, l) => {
      if (sizes[l] * gb.length <= MAX_FULL) return;
      const top = [...gb.keys()].sort((i, j) => Math.abs(gb[j]) - Math.abs(gb[i])).slice(0, TOP_ROWS).sort((i, j) => i - j);
      const had = res.grad_weights.find((g) => g.layer === l);
      if (!had || had.neurons.join() !== top.join()) {
        this.rows.set(l, top);
        changed = true;
      }
    });
    return changed;
  }

  /** "this example" or "batch": the nudges averaged over 32 random training digits. */
  async setSource(source) {
    this.source = source;
    $("batch-note").hidden = source !== "batch";
    if (source === "batch") await this.loadBatch();
    this.draw();
  }

  async loadBatch() {
    const model = this.on.model();
    const seed = Math.floor(Math.random() * 2 ** 31);
    $("batch-note").textContent = "Asking for 32 random training digits…";
    try {
      this.batch = await post("/api/explain", {
        model,
        batch: { source: "train", size: BATCH, seed },
        grad_weights: this.gradRequest(this.netView.sizes),
      });
      $("batch-note").textContent = `The average wish of ${BATCH} random training digits, each for its own label: training takes this step, not any one digit's. Their mean cost: ${num(this.batch.cost_function === "quadratic" ? 2 * this.batch.cost : this.batch.cost)}.`;
    } catch (err) {
      this.batch = null;
      $("batch-note").textContent = `No mini-batch: ${describeError(err)}`;
    }
  }

  /** Another model: its mini-batch nudges and big-layer rows are not this one's. */
  modelChanged() {
    this.rows.clear();
    this.batch = null;
    if (this.mode === "nudges" && this.source === "batch") this.setSource("batch");
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
      li.append(c, `, predicts ${s.digit} (${pct(conf)})`);
      return li;
    });
    $("step-log").replaceChildren(...rows);
  }
}
