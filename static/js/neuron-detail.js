// The panel under the network that explains one neuron's arithmetic on the current drawing:
// its largest terms w·a, the rest summed, the bias, z and the activation, a plot of the
// activation function marking z, the bias as a threshold, and for a first-hidden-layer neuron
// its weights, your input and their product as three 28×28 images. z and a are the server's
// (/api/predict, the same forward pass /api/explain reports, or a training run's probe); the
// products w·a are the server's weights times its activations, only sorted and summed here.

import { curveName, drawActivation } from "./activation-plot.js";
import { divergingInto } from "./colors.js";
import { drawDigit } from "./draw.js";
import { num, signed } from "./fmt.js";

const TOP_TERMS = 8;

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

/** A number in a span the tests can read: <span class="v" data-testid=...>. */
const value = (v, testid, sign = false) => {
  const s = el("span", "v", sign ? signed(v) : num(v));
  if (testid) s.dataset.testid = testid;
  return s;
};

export class NeuronDetail {
  /** src: {describe(sel), explained() → ExplainResponse | null, kind(), outputKind()} */
  constructor(root, src) {
    this.el = root;
    this.src = src;
    this.sel = null;
    this.pending = false;
  }

  /** A neuron was hovered or tapped: {layer, index}. */
  select(sel) {
    this.sel = sel;
    this.refresh();
  }

  /** Redraw for new numbers; coalesced to one per frame (probes arrive often while training). */
  refresh() {
    if (!this.sel || this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.show(this.numbers(this.src.describe(this.sel)));
    });
  }

  /** The view's description (z and a from the prediction), with ∂C/∂w when explained. */
  numbers(d) {
    if (!d || d.layer === 0) return d;
    const ex = this.src.explained();
    const g = ex && ex.zs.length === d.sizes.length - 1 ? ex.grad_weights.find((x) => x.layer === d.layer - 1) : null;
    const row = g ? g.neurons.indexOf(d.index) : -1;
    d.gradW = row >= 0 ? g.values[row] : null;
    d.kind = d.isOutput ? this.src.outputKind() : this.src.kind();
    return d;
  }

  show(d) {
    if (!d) return;
    const root = this.el;
    root.textContent = "";
    const head = el("p");
    const title = d.layer === 0
      ? `Input pixel (${d.index % 28}, ${Math.floor(d.index / 28)})`
      : d.isOutput ? `Output neuron “${d.index}”` : `Hidden layer ${d.layer}, neuron ${d.index}`;
    head.append(el("strong", "", title));
    root.append(head);
    if (d.layer === 0) {
      root.append(stats([["brightness", d.activation]]));
      return;
    }
    if ("nudge" in d) {
      root.append(this.nudges(d));
      return;
    }
    if (!d.weights) {
      root.append(stats([["bias b", d.bias], ["weighted sum z", d.z], ["activation a", d.activation]]));
      root.append(el("p", "muted small", "Weights are loading…"));
      return;
    }
    const cols = el("div", "nd-cols");
    cols.append(this.sum(d), this.side(d));
    root.append(cols);
    if (d.layer === 1) root.append(this.images(d));
  }

  /** Nudges mode: what this example wants of the neuron (−∂C/∂a) and of its incoming
   * weights (−∂C/∂w, the largest first). */
  nudges(d) {
    const box = el("div", "nd-nudges");
    if (d.nudge === null) {
      box.append(el("p", "muted small", "Draw a digit: its nudges appear here."));
      return box;
    }
    const head = el("p", "small");
    const way = d.nudge > 0 ? "up" : d.nudge < 0 ? "down" : "neither way";
    head.append("−∂C/∂a = ", value(d.nudge, "nudge-a", true),
      `: for this example (and the label under “The cost”), the cost falls if this neuron's activation goes ${way}.`);
    box.append(head);
    const g = d.nudgeW;
    if (!g) {
      box.append(el("p", "muted small", "Its weights' nudges are on their way…"));
      return box;
    }
    const from = (i) => (d.layer === 1 ? `pixel (${i % 28}, ${Math.floor(i / 28)})` : `neuron ${i} of layer ${d.layer - 1}`);
    const order = [...g.keys()].sort((i, j) => Math.abs(g[j]) - Math.abs(g[i]));
    box.append(el("p", "small", "−∂C/∂w of its incoming weights, the largest first (each weight's nudge):"));
    const ul = el("ul", "inputs terms small");
    for (const i of order.slice(0, TOP_TERMS)) {
      const li = termRow("", `w from ${from(i)}`, g[i]);
      li.prepend(value(g[i], "nudge-w", true));
      ul.append(li);
    }
    ul.append(el("li", "rest muted", `… and ${order.length - Math.min(order.length, TOP_TERMS)} more`));
    box.append(ul);
    if (d.layer === 1) {
      const fig = el("figure", "heat");
      const c = el("canvas", "pixelated");
      c.width = 28;
      c.height = 28;
      c.setAttribute("role", "img");
      c.setAttribute("aria-label", "The nudge each incoming weight gets, as a 28 by 28 image");
      paintDiverging(c, g);
      fig.dataset.testid = "nudge-map";
      fig.append(c, el("figcaption", "muted small", "−∂C/∂w: blue up, orange down"));
      box.append(fig);
    }
    box.append(el("p", "muted small", "Switch the view to “activations” for its arithmetic."));
    return box;
  }

  /** z = Σ w·a + b, the largest terms first. */
  sum(d) {
    const box = el("div", "nd-sum");
    const w = d.weights;
    const a = d.prevActivations;
    const from = (i) => (d.layer === 1 ? `pixel (${i % 28}, ${Math.floor(i / 28)})` : `neuron ${i} of layer ${d.layer - 1}`);
    if (!a) {
      box.append(el("p", "muted small", "Draw a digit to see this neuron's arithmetic. Strongest incoming weights:"));
      const ul = el("ul", "inputs small");
      const idx = [...w.keys()].sort((i, j) => Math.abs(w[j]) - Math.abs(w[i])).slice(0, 6);
      for (const i of idx) ul.append(termRow(`w = ${num(w[i])}`, from(i), w[i]));
      box.append(ul);
      return box;
    }
    const terms = w.map((wi, i) => wi * a[i]);
    const order = [...terms.keys()].sort((i, j) => Math.abs(terms[j]) - Math.abs(terms[i]));
    const top = order.slice(0, TOP_TERMS);
    let rest = 0;
    for (const i of order.slice(TOP_TERMS)) rest += terms[i];
    box.append(el("p", "small", "z = Σ w·a + b, the largest terms w·a first:"));
    const ul = el("ul", "inputs terms small");
    for (const i of top) {
      const li = termRow("", `w = ${num(w[i])} × a = ${num(a[i])} · ${from(i)}`, terms[i]);
      li.prepend(value(terms[i], "term", true));
      ul.append(li);
    }
    const row = (cls, v, testid, label, sign = true) => {
      const li = el("li", cls);
      li.append(value(v, testid, sign), el("span", "", label));
      return li;
    };
    const more = row("rest", rest, null, `… and ${order.length - top.length} more terms, summed`);
    more.dataset.testid = "terms-rest";
    const bias = row("bias-row", d.bias, "term-bias", "bias b");
    const z = row("total", d.z, "term-z", "= weighted sum z", false);
    const fn = d.kind === "softmax" ? "softmax(z)" : d.kind === "sigmoid" ? "σ(z)" : `${d.kind}(z)`;
    const act = row("total", d.activation, "term-a", `activation a = ${fn}`, false);
    ul.append(more, bias, z, act);
    box.append(ul);
    return box;
  }

  /** The numbers, the activation curve with z marked, and the bias as a threshold. */
  side(d) {
    const box = el("div", "nd-side");
    if (!d.prevActivations) box.append(stats([["bias b", d.bias], ["weighted sum z", d.z], ["activation a", d.activation]]));
    if (d.kind === "softmax") {
      box.append(el("p", "muted small", "Softmax output: a = e^z / Σ e^z over the ten outputs, so the outputs share 1 between them."));
    } else {
      const c = el("canvas", "act-plot");
      c.setAttribute("role", "img");
      c.setAttribute("aria-label", `${curveName(d.kind)}, with this neuron's z marked`);
      const fig = el("figure", "act-fig");
      fig.append(c, el("figcaption", "muted small", curveName(d.kind)));
      box.append(fig);
      requestAnimationFrame(() => drawActivation(c, d.kind, d.z, d.activation));
    }
    box.append(el("p", "small bias-note", biasSentence(d)));
    return box;
  }

  /** Weights, your input, and w ⊙ a: what this first-layer neuron "saw" in your drawing. */
  images(d) {
    const row = el("div", "triple");
    const a = d.prevActivations;
    const heat = (values, label, caption) => {
      const fig = el("figure", "heat");
      const c = el("canvas", "pixelated");
      c.width = 28;
      c.height = 28;
      c.setAttribute("role", "img");
      c.setAttribute("aria-label", label);
      if (values) paintDiverging(c, values);
      fig.append(c, el("figcaption", "muted small", caption));
      return fig;
    };
    row.append(heat(d.weights, "This neuron's 784 incoming weights as a 28 by 28 image", "weights w: blue excites, orange inhibits"));
    const inp = el("figure", "heat");
    const ic = el("canvas", "pixelated");
    ic.setAttribute("role", "img");
    ic.setAttribute("aria-label", "Your drawing as the network saw it");
    drawDigit(ic, a || null);
    inp.append(ic, el("figcaption", "muted small", "your input a"));
    row.append(inp);
    const prod = a ? d.weights.map((w, i) => w * a[i]) : null;
    row.append(heat(prod, "Weights times your input, pixel by pixel", "w ⊙ a: what it saw"));
    if (d.gradW) {
      const fig = heat(d.gradW.map((g) => -g), "The change in each weight this example wants", "−∂C/∂w: the nudge each weight gets");
      fig.dataset.testid = "nudge-map";
      row.append(fig);
    }
    return row;
  }
}

function stats(rows) {
  const dl = el("dl", "stats");
  for (const [k, v] of rows) dl.append(el("dt", "", k), el("dd", "", num(v)));
  return dl;
}

function termRow(main, detail, sign) {
  const li = el("li");
  li.append(el("span", `swatch ${sign >= 0 ? "pos" : "neg"}`));
  if (main) li.append(` ${main}`);
  li.append(el("span", "muted", ` ${detail}`));
  return li;
}

function paintDiverging(canvas, values) {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(28, 28);
  divergingInto(img.data, values, m);
  ctx.putImageData(img, 0, 0);
}

function biasSentence(d) {
  const on = d.kind === "sigmoid" ? "σ(z) > 0.5" : d.kind === "softmax" ? "its score z > 0" : "a > 0";
  const need = -d.bias;
  const b = signed(d.bias);
  return need >= 0
    ? `The bias b = ${b} is a threshold: the weighted sum Σ w·a must exceed ${num(need)} before z turns positive (${on}).`
    : `The bias b = ${b} is a threshold: z stays positive (${on}) unless the weighted sum Σ w·a falls below ${num(need)}.`;
}
