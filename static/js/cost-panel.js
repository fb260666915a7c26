// The cost of this example, as in the video: "This is a ___" (starting at the known label of a
// test digit, else at the prediction, and saying which; the user may correct it), the target y beside the output a, each (a_j − y_j)² and their sum; for
// a cross-entropy model −log a_label. Beside it, how bad the network is overall: its average
// cost over test digits. All numbers are the server's (/api/explain); the video's cost has no
// ½, so the quadratic terms shown are twice the server's ½(a_j − y_j)².

import { describeError } from "./api.js";
import { className, digitClasses } from "./classes.js";
import { count, num } from "./fmt.js";

const $ = (id) => document.getElementById(id);

export class CostPanel {
  /** onLabel(digit | null): the user picked a label (null: follow the prediction again). */
  constructor(onLabel) {
    this.onLabel = onLabel;
    this.picked = null;
    this.source = null; // "known" (a test digit's label) | "user" | null (the prediction)
    this.buttons = [];
    const box = $("cost-label");
    for (let d = 0; d < 10; d++) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = String(d);
      b.setAttribute("role", "radio");
      b.setAttribute("aria-checked", "false");
      b.dataset.digit = String(d);
      b.addEventListener("click", () => this.pick(d));
      b.addEventListener("keydown", (e) => this.arrow(e, d));
      box.append(b);
      this.buttons.push(b);
    }
  }

  /** Arrow keys move along the radio group, as in any radio group. */
  arrow(e, d) {
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
    if (!step) return;
    e.preventDefault();
    const next = (d + step + 10) % 10;
    this.buttons[next].focus();
    this.pick(next);
  }

  pick(d, source = "user") {
    this.picked = d;
    this.source = source;
    this.mark(d);
    this.onLabel(d);
    this.say();
  }

  /** The known label of the test digit on the pad (null: it became a drawing). */
  known(d) {
    if (d !== null) this.pick(d, "known");
    else if (this.source === "known") this.reset();
  }

  /** A new drawing: the label follows the prediction until the user corrects it. */
  reset() {
    this.say(null);
    if (this.picked === null) return;
    this.picked = null;
    this.source = null;
    this.onLabel(null);
  }

  /** Say where the label comes from. */
  say(source = this.source) {
    const el = $("cost-label-source");
    el.textContent = source === "known"
      ? "the test digit's known label"
      : source === "user"
        ? "the label you picked"
        : "starting at the network's guess: pick the right digit if it is wrong";
  }

  mark(d) {
    this.buttons.forEach((b, i) => {
      b.setAttribute("aria-checked", String(i === d));
      b.tabIndex = i === d || (d < 0 && i === 0) ? 0 : -1;
      b.classList.toggle("on", i === d);
    });
  }

  /** res: ExplainResponse of one drawing, or null (then `why` says what to do). */
  show(res, why = "Draw a digit: its cost appears here.") {
    $("cost-table").hidden = !res;
    $("cost-empty").hidden = Boolean(res);
    if (!res) {
      $("cost-empty").textContent = why;
      this.mark(-1);
      $("cost-note").textContent = "";
      return;
    }
    this.mark(res.label);
    const out = res.activations[res.activations.length - 1];
    const quad = res.cost_function === "quadratic";
    const head = ["digit j", "output a_j", "target y_j", quad ? "(a_j − y_j)²" : "−y_j log a_j"];
    $("cost-head").replaceChildren(...head.map((h) => cell("th", h, "col")));
    const rows = out.map((a, j) => {
      const tr = document.createElement("tr");
      if (j === res.label) tr.className = "label-row";
      const term = quad ? 2 * res.cost_terms[j] : res.cost_terms[j];
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = `${Math.max(0, Math.min(1, a)) * 3}rem`;
      const aCell = cell("td", num(a));
      aCell.prepend(bar);
      const name = digitClasses() ? String(j) : `${j} ${className(j)}`; // issue 17 §3
      tr.append(cell("th", name, "row"), aCell, cell("td", j === res.label ? "1" : "0"), cell("td", num(term)));
      tr.lastChild.dataset.testid = "cost-term";
      return tr;
    });
    $("cost-rows").replaceChildren(...rows);
    $("cost-sum-label").textContent = quad ? "cost = Σ (a_j − y_j)²" : `cost = −log a_${res.label}`;
    $("cost-sum").textContent = num(quad ? 2 * res.cost : res.cost);
    $("cost-note").textContent = quad
      ? `Training minimises half of this, ½ Σ (a_j − y_j)² = ${num(res.cost)} (the ½ makes its slope simply a_j − y_j).`
      : `Softmax outputs and the cross-entropy cost: only the label's output counts, −log ${num(out[res.label])} = ${num(res.cost)}.`;
  }

  /** Show the average cost of `model` (promise from Explainer.average) while it is current(). */
  async loadAverage(promise, current) {
    $("cost-avg").textContent = "…";
    try {
      const batch = await promise;
      if (current()) this.showAverage(batch, null);
    } catch (err) {
      if (current()) this.showAverage(null, describeError(err));
    }
  }

  /** No average to show (a training run is selected). */
  noAverage() {
    $("cost-avg-n").textContent = "the test digits";
    $("cost-avg").textContent = "– (pick a saved model)";
  }

  /** batch: ExplainResponse of the test-set batch (count = digits averaged), or an error text. */
  showAverage(batch, error) {
    if (error) {
      $("cost-avg").textContent = "unavailable";
      $("cost-avg-n").textContent = `the test digits (${error})`;
      return;
    }
    const quad = batch.cost_function === "quadratic";
    $("cost-avg-n").textContent = `${count(batch.count)} test digits`;
    $("cost-avg").textContent = num(quad ? 2 * batch.cost : batch.cost);
  }
}

function cell(tag, text, scope) {
  const c = document.createElement(tag);
  c.textContent = text;
  if (scope) c.scope = scope;
  return c;
}
