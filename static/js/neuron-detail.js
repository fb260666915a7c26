// The panel under the network that explains one neuron: its bias, weighted sum z and
// activation; for a first-hidden-layer neuron its 784 incoming weights as a 28×28 heat map
// (what it "looks for", as in the video); for later layers its strongest inputs.

import { divergingInto } from "./colors.js";

const fmt = (v, d = 3) => (v === null || v === undefined ? "–" : Number(v).toFixed(d));

export class NeuronDetail {
  /** describe(sel): the neuron's numbers (NetworkView.describe). */
  constructor(el, describe) {
    this.el = el;
    this.describe = describe;
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
      this.show(this.describe(this.sel));
    });
  }

  /** d: NetworkView.describe(...) */
  show(d) {
    if (!d) return;
    const el = this.el;
    el.textContent = "";
    const head = document.createElement("p");
    const layerName =
      d.layer === 0 ? "Input pixel" : d.isOutput ? "Output neuron" : `Hidden layer ${d.layer}, neuron`;
    head.innerHTML = "";
    const strong = document.createElement("strong");
    strong.textContent = d.layer === 0
      ? `${layerName} (${d.index % 28}, ${Math.floor(d.index / 28)})`
      : d.isOutput ? `${layerName} “${d.index}”` : `${layerName} ${d.index}`;
    head.append(strong);
    el.append(head);

    const dl = document.createElement("dl");
    dl.className = "stats";
    const add = (k, v) => {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = v;
      dl.append(dt, dd);
    };
    if (d.layer === 0) {
      add("brightness", fmt(d.activation));
      el.append(dl);
      return;
    }
    add("bias b", fmt(d.bias));
    add("weighted sum z", fmt(d.z));
    add("activation a", fmt(d.activation));
    el.append(dl);

    if (!d.weights) {
      const p = document.createElement("p");
      p.className = "muted small";
      p.textContent = "Weights are loading…";
      el.append(p);
      return;
    }
    if (d.layer === 1) this.heatMap(d.weights);
    else this.strongestInputs(d);
  }

  heatMap(weights) {
    const fig = document.createElement("figure");
    fig.className = "heat";
    const c = document.createElement("canvas");
    c.width = 28;
    c.height = 28;
    c.className = "pixelated";
    c.setAttribute("role", "img");
    c.setAttribute("aria-label", "This neuron's 784 incoming weights as a 28 by 28 image");
    let m = 0;
    for (const w of weights) m = Math.max(m, Math.abs(w));
    const ctx = c.getContext("2d");
    const img = ctx.createImageData(28, 28);
    divergingInto(img.data, weights, m);
    ctx.putImageData(img, 0, 0);
    const cap = document.createElement("figcaption");
    cap.className = "muted small";
    cap.innerHTML = '<span class="swatch pos"></span> pixels that excite it · <span class="swatch neg"></span> pixels that inhibit it';
    fig.append(c, cap);
    this.el.append(fig);
  }

  strongestInputs(d) {
    const w = d.weights;
    const a = d.prevActivations;
    // Rank by contribution w·a when the drawing is known, else by |w|.
    const idx = [...w.keys()].sort((i, j) =>
      a ? Math.abs(w[j] * a[j]) - Math.abs(w[i] * a[i]) : Math.abs(w[j]) - Math.abs(w[i]),
    );
    const top = idx.slice(0, 6);
    const p = document.createElement("p");
    p.className = "small";
    p.textContent = a ? "Strongest inputs (weight × activation):" : "Strongest incoming weights:";
    const ul = document.createElement("ul");
    ul.className = "inputs small";
    for (const i of top) {
      const li = document.createElement("li");
      const sw = document.createElement("span");
      sw.className = `swatch ${w[i] >= 0 ? "pos" : "neg"}`;
      li.append(sw);
      const from = d.layer - 1 === 0 ? `pixel ${i}` : `neuron ${i} of layer ${d.layer - 1}`;
      li.append(` ${from}: w = ${fmt(w[i])}` + (a ? `, a = ${fmt(a[i])}` : ""));
      ul.append(li);
    }
    this.el.append(p, ul);
  }
}
