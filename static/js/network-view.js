// The network drawn as in 3Blue1Brown's video: the 28×28 input, hidden layers as columns of
// neurons lit by their activation, and the ten labelled outputs. Connections are static
// between weight updates, so they are drawn once into an offscreen canvas and blitted; a frame
// only repaints the neurons, which is what changes while drawing or training. The hovered or
// selected neuron's incoming connections are drawn on top by their contribution w·a to this
// drawing (display arithmetic on the server's activations and the /network weights), and the
// rest is dimmed; those lines are computed once per (neuron, drawing, weights) and cached.

import { className, digitClasses } from "./classes.js";
import { num } from "./fmt.js";
import { invalidate } from "./frame.js";
import { NEG, POS, neuronFill, theme } from "./colors.js";

const TOP = 18; // room for layer captions
const BOTTOM = 6;
const MAX_LINES = 1400; // strongest connections drawn per layer pair (readability + speed)
const BUCKETS = 6; // opacity levels: one canvas path per (sign, level)
const HL_LINES = 300; // the selected neuron's strongest incoming contributions drawn
// ... but from the 784 input pixels, few and thin: lines from a drawing's pixels all converge
// on one neuron from a narrow angle, and even 40 merge into a solid wedge that shows nothing
// (the e2e test measures the ink across the fan). The neuron's panel has all 784 as a map.
const HL_INPUT_LINES = 12;
const HL_MIN = 0.02; // ... of at least this fraction of the strongest one
const DIM = 0.2; // the other connections' opacity while a neuron is highlighted

export class NetworkView {
  constructor(canvas, { onSelect } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onSelect = onSelect;
    this.sizes = null;
    this.activation = "sigmoid";
    this.net = null; // NetworkJSON (weights, biases)
    this.state = null; // {input, activations, zs, probabilities}
    this.mode = "activations"; // or "nudges": colours show −∂C/∂a and −∂C/∂w
    this.nudges = null; // {acts: [−∂C/∂a per layer], weights: [−∂C/∂W matrix | null per layer]}
    this.layout = null;
    this.conn = document.createElement("canvas");
    this.connDirty = true;
    this.selected = null; // {layer, index}; layer 0 = input
    this.hl = null; // the selected neuron's highlighted lines (see highlight())
    // Its lines are highlighted while the pointer is over the view, or after a click, a tap
    // or select() pinned it.
    this.hovering = false;
    this.pinned = false;
    this.inputCanvas = document.createElement("canvas");
    this.inputCanvas.width = 28;
    this.inputCanvas.height = 28;
    new ResizeObserver(() => this.resize()).observe(canvas.parentElement);
    canvas.addEventListener("pointermove", (e) => this.pick(e, false));
    canvas.addEventListener("pointerdown", (e) => this.pick(e, true));
    canvas.addEventListener("pointerleave", () => {
      this.hovering = false;
      invalidate(this);
    });
    // The keyboard's way in: the view is one tab stop; arrow keys move between neurons (←/→
    // between layers, ↑/↓ within one), and the live region says which neuron and its number.
    canvas.tabIndex = 0;
    canvas.addEventListener("keydown", (e) => this.key(e));
    canvas.addEventListener("focus", () => {
      if (!canvas.matches(":focus-visible")) return; // a click picks its own neuron
      if (!this.selected || this.selected.layer === 0) this.moveTo({ layer: 1, index: 0 });
      else this.moveTo(this.selected);
    });
    this.resize();
  }

  key(e) {
    if (!this.sizes || e.altKey || e.ctrlKey || e.metaKey) return;
    const s = this.selected && this.selected.layer > 0 ? this.selected : { layer: 1, index: 0 };
    const last = this.sizes.length - 1;
    let { layer, index } = s;
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      const to = Math.max(1, Math.min(last, layer + (e.key === "ArrowRight" ? 1 : -1)));
      // The same height in the next column: the neuron nearest in proportion.
      index = Math.round(((index + 0.5) / this.sizes[layer]) * this.sizes[to] - 0.5);
      layer = to;
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      index += e.key === "ArrowDown" ? 1 : -1;
    } else if (e.key === "Home" || e.key === "End") {
      index = e.key === "Home" ? 0 : this.sizes[layer] - 1;
    } else {
      return;
    }
    e.preventDefault();
    this.moveTo({ layer, index: Math.max(0, Math.min(this.sizes[layer] - 1, index)) });
  }

  /** Select a neuron from the keyboard: ring it, tell the page, and say it in words. */
  moveTo(sel) {
    if (!this.sizes || !this.sizes[sel.layer]) return;
    this.selected = sel;
    this.pinned = true;
    invalidate(this);
    if (this.onSelect) this.onSelect(sel);
    const live = document.getElementById("net-live");
    if (live) live.textContent = this.sayNeuron(sel);
  }

  /** "Hidden layer 1, neuron 3 of 16: activation 0.871" / "Output 7: activation 0.974". */
  sayNeuron({ layer, index }) {
    const last = layer === this.sizes.length - 1;
    const st = this.state;
    const a = st && st.activations ? st.activations[layer - 1][index] : null;
    const who = last ? `Output ${index}` : `Hidden layer ${layer}, neuron ${index} of ${this.sizes[layer]}`;
    return `${who}: ${a === null ? "no drawing yet" : `activation ${num(a)}`}. Arrow keys move between neurons.`;
  }

  /** A new architecture (model switch): forget weights and state that no longer fit. */
  setArchitecture(sizes, activation) {
    const same = this.sizes && sizes && sizes.join() === this.sizes.join();
    this.sizes = sizes ? [...sizes] : null;
    this.activation = activation || "sigmoid";
    if (!same) {
      this.net = null;
      this.state = null;
      this.selected = null;
    }
    this.relayout();
  }

  setNetwork(net) {
    this.net = net;
    if (net && (!this.sizes || net.sizes.join() !== this.sizes.join())) {
      this.setArchitecture(net.sizes, net.activation);
      this.net = net;
    }
    this.connDirty = true;
    invalidate(this);
  }

  /** Activations of the current drawing; null clears the lights. */
  setState(state) {
    this.state = state;
    invalidate(this);
  }

  /** "activations" or "nudges" (with nudges = {acts, weights} from /api/explain, or null). */
  setMode(mode, nudges) {
    // Every explanation re-sends the mode: redrawing the connections each time would cost
    // a sort of every weight (hundreds of ms for a big network) for an unchanged picture.
    if (mode === this.mode && nudges === this.nudges) return;
    this.mode = mode;
    this.nudges = nudges;
    this.connDirty = true;
    invalidate(this);
  }

  resize() {
    const parent = this.canvas.parentElement;
    const w = Math.max(240, parent.clientWidth);
    // Tall enough for 16-neuron columns with gaps, short enough to fit beside the pad. On a
    // phone, 16 neurons at least 24 px apart (touch targets), the outputs still on the first screen.
    const h = Math.round(w < 520 ? 410 : Math.max(250, Math.min(460, w * 0.62)));
    const dpr = window.devicePixelRatio || 1;
    this.cssW = w;
    this.cssH = h;
    this.canvas.style.height = `${h}px`;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    this.conn.width = this.canvas.width;
    this.conn.height = this.canvas.height;
    this.dpr = dpr;
    this.relayout();
  }

  relayout() {
    this.layout = this.sizes ? computeLayout(this.sizes, this.cssW, this.cssH) : null;
    this.connDirty = true;
    invalidate(this);
  }

  // --- rendering ----------------------------------------------------------------------

  render() {
    const ctx = this.ctx;
    const t = theme();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const L = this.layout;
    if (!L) {
      ctx.fillStyle = t.muted;
      ctx.font = "13px system-ui, sans-serif";
      ctx.fillText("Loading the network…", 12, 24);
      return;
    }
    if (this.connDirty) this.drawConnections();
    const hl = this.highlight();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (hl) ctx.globalAlpha = DIM;
    ctx.drawImage(this.conn, 0, 0);
    ctx.globalAlpha = 1;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    if (hl) {
      const style = hl.thin ? (level) => [0.35 + 0.55 * level, 0.6 + 0.8 * level] : (level) => [0.3 + 0.7 * level, 0.8 + 2.6 * level];
      strokeBuckets(ctx, hl.paths, style);
    }

    // Captions
    ctx.fillStyle = t.muted;
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "alphabetic";
    // Short captions when the columns are close together (phones, many layers).
    const short = L.slot < 80;
    for (let l = 0; l < L.layers.length; l++) {
      const lay = L.layers[l];
      const last = l === L.layers.length - 1;
      const name = l === 0 ? (short ? String(lay.n) : `input ${lay.n}`) : last ? (short ? "10" : "output") : short ? String(lay.n) : `hidden ${lay.n}`;
      ctx.fillText(name, lay.cx, 12);
    }

    this.drawInput(ctx, L.layers[0]);
    const acts = this.state && this.state.activations;
    const nudging = this.mode === "nudges";
    for (let l = 1; l < L.layers.length; l++) {
      if (nudging) {
        this.drawNudges(ctx, L.layers[l], this.nudges && this.nudges.acts[l - 1]);
        continue;
      }
      const a = acts && acts[l - 1];
      this.drawLayer(ctx, L.layers[l], a, l === L.layers.length - 1);
    }
    this.drawOutputs(ctx, L.layers[L.layers.length - 1]);
    this.drawSelection(ctx);
  }

  drawInput(ctx, lay) {
    const input = this.state && this.state.input;
    const ictx = this.inputCanvas.getContext("2d");
    const img = ictx.createImageData(28, 28);
    const off = theme().neuronOff;
    const on = theme().neuronOn;
    for (let i = 0; i < 784; i++) {
      const v = input ? Math.max(0, Math.min(1, input[i])) : 0;
      img.data[4 * i] = off[0] + (on[0] - off[0]) * v;
      img.data[4 * i + 1] = off[1] + (on[1] - off[1]) * v;
      img.data[4 * i + 2] = off[2] + (on[2] - off[2]) * v;
      img.data[4 * i + 3] = 255;
    }
    ictx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.inputCanvas, lay.x, lay.y, lay.size, lay.size);
    ctx.imageSmoothingEnabled = true;
    ctx.strokeStyle = theme().ring;
    ctx.lineWidth = 1;
    ctx.strokeRect(lay.x - 0.5, lay.y - 0.5, lay.size + 1, lay.size + 1);
  }

  drawLayer(ctx, lay, a, isOutput) {
    const scale = brightnessScale(a, isOutput ? "output" : this.activation);
    const ring = theme().ring;
    const winner = isOutput && this.state && this.state.probabilities ? argmax(this.state.probabilities) : -1;
    for (let i = 0; i < lay.n; i++) {
      const x = lay.xs[i];
      const y = lay.ys[i];
      const v = a ? scale(a[i]) : 0;
      ctx.fillStyle = neuronFill(v);
      if (lay.round) {
        ctx.beginPath();
        ctx.arc(x, y, lay.r, 0, Math.PI * 2);
        ctx.fill();
        ctx.lineWidth = i === winner ? 2.5 : 1;
        ctx.strokeStyle = i === winner ? theme().accent : ring;
        ctx.stroke();
      } else {
        ctx.fillRect(x - lay.r, y - lay.r, lay.r * 2, lay.r * 2);
      }
    }
  }

  /** Neurons coloured by the change this example wishes for: blue up, orange down. */
  drawNudges(ctx, lay, g) {
    let m = 0;
    if (g) for (const v of g) m = Math.max(m, Math.abs(v));
    const ring = theme().ring;
    for (let i = 0; i < lay.n; i++) {
      const t = g && m ? g[i] / m : 0;
      ctx.fillStyle = nudgeFill(t);
      ctx.beginPath();
      if (lay.round) {
        ctx.arc(lay.xs[i], lay.ys[i], lay.r * (0.55 + 0.45 * Math.abs(t)), 0, Math.PI * 2);
        ctx.fill();
        ctx.lineWidth = 1;
        ctx.strokeStyle = ring;
        ctx.beginPath();
        ctx.arc(lay.xs[i], lay.ys[i], lay.r, 0, Math.PI * 2);
        ctx.stroke();
      } else {
        ctx.fillRect(lay.xs[i] - lay.r, lay.ys[i] - lay.r, lay.r * 2, lay.r * 2);
      }
    }
  }

  drawOutputs(ctx, lay) {
    const t = theme();
    const probs = this.state && this.state.probabilities;
    const winner = probs ? argmax(probs) : -1;
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    const barX = lay.labelX + labelWidth(ctx, lay.n);
    const barW = Math.max(10, this.cssW - barX - 6);
    if (this.mode === "nudges") {
      this.drawOutputWishes(ctx, lay, barX, barW);
      return;
    }
    for (let i = 0; i < lay.n; i++) {
      const y = lay.ys[i];
      ctx.font = i === winner ? "bold 13px system-ui, sans-serif" : "12px system-ui, sans-serif";
      ctx.fillStyle = i === winner ? t.accent : t.text;
      ctx.fillText(className(i), lay.labelX, y);
      ctx.fillStyle = t.grid;
      ctx.fillRect(barX, y - 3, barW, 6);
      if (probs) {
        ctx.fillStyle = i === winner ? t.accent : t.blue;
        ctx.fillRect(barX, y - 3, Math.max(0, Math.min(1, probs[i])) * barW, 6);
      }
    }
  }

  /** Beside each output: ↑ or ↓ and a bar for how much this example wants it to move. */
  drawOutputWishes(ctx, lay, barX, barW) {
    const t = theme();
    const g = this.nudges && this.nudges.acts[this.nudges.acts.length - 1];
    let m = 0;
    if (g) for (const v of g) m = Math.max(m, Math.abs(v));
    const mid = barX + barW / 2;
    for (let i = 0; i < lay.n; i++) {
      const y = lay.ys[i];
      const v = g && m ? g[i] / m : 0;
      ctx.font = "12px system-ui, sans-serif";
      ctx.fillStyle = t.text;
      ctx.fillText(`${className(i)}${v > 0.02 ? "↑" : v < -0.02 ? "↓" : ""}`, lay.labelX, y);
      ctx.fillStyle = t.grid;
      ctx.fillRect(mid - 0.5, y - 5, 1, 10);
      ctx.fillStyle = v >= 0 ? `rgb(${POS})` : `rgb(${NEG})`;
      ctx.fillRect(v >= 0 ? mid : mid + v * (barW / 2), y - 3, Math.abs(v) * (barW / 2), 6);
    }
  }

  drawSelection(ctx) {
    const s = this.selected;
    if (!s || !this.layout) return;
    const lay = this.layout.layers[s.layer];
    if (!lay) return;
    ctx.strokeStyle = theme().accent;
    ctx.lineWidth = 2;
    if (s.layer === 0) {
      const c = lay.size / 28;
      ctx.strokeRect(lay.x + (s.index % 28) * c, lay.y + Math.floor(s.index / 28) * c, c, c);
      return;
    }
    ctx.beginPath();
    ctx.arc(lay.xs[s.index], lay.ys[s.index], Math.max(lay.r + 2, 4), 0, Math.PI * 2);
    ctx.stroke();
  }

  /** Strongest connections of each layer pair into the offscreen canvas. */
  drawConnections() {
    this.connDirty = false;
    const ctx = this.conn.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.conn.width, this.conn.height);
    const net = this.net;
    const L = this.layout;
    if (!net || !L || net.weights.length !== L.layers.length - 1) return;
    // In nudges mode the lines are −∂C/∂w (layers the server sent), else the weights.
    const nudging = this.mode === "nudges";
    const mats = nudging ? (this.nudges ? this.nudges.weights : []) : net.weights;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.lineCap = "round";
    for (let l = 1; l < L.layers.length; l++) {
      const W = mats[l - 1];
      if (!W) continue;
      const src = L.layers[l - 1];
      const dst = L.layers[l];
      const picked = strongestCached(W);
      if (!picked.count) continue;
      // Group lines by sign and strength: 2×BUCKETS paths instead of one stroke per line.
      const paths = [];
      for (let b = 0; b < 2 * BUCKETS; b++) paths.push(new Path2D());
      for (let k = 0; k < picked.count; k++) {
        const j = picked.rows[k];
        const i = picked.cols[k];
        const w = W[j][i];
        const rel = Math.abs(w) / picked.max;
        const b = Math.min(BUCKETS - 1, Math.floor(rel * BUCKETS));
        const p = paths[(w >= 0 ? 0 : BUCKETS) + b];
        const [sx, sy] = sourcePoint(src, i);
        p.moveTo(sx, sy);
        p.lineTo(targetX(dst, j), dst.ys[j]);
      }
      const dense = picked.count > 400;
      strokeBuckets(ctx, paths, (level) =>
        dense ? [0.05 + 0.35 * level, 0.4 + 0.8 * level] : [0.1 + 0.6 * level, 0.6 + 1.8 * level]);
    }
  }

  /**
   * The selected neuron's incoming lines by contribution (null if none): w·a of each input
   * in "activations" mode (w alone before anything is drawn), −∂C/∂w in "nudges" mode.
   * Cached until the neuron, the drawing, the weights, the nudges or the layout change.
   */
  highlight() {
    const s = this.hovering || this.pinned ? this.selected : null;
    const L = this.layout;
    if (!s || s.layer === 0 || !L || !this.net || this.net.weights.length !== L.layers.length - 1) return null;
    const h = this.hl;
    const inputs = [this.mode, this.state, this.net, this.nudges, L];
    if (h && h.layer === s.layer && h.index === s.index && h.inputs.every((v, k) => v === inputs[k])) return h.lines;
    const c = this.contributions(s.layer, s.index);
    const lines = c ? this.highlightLines(s.layer, s.index, c) : null;
    this.hl = { layer: s.layer, index: s.index, inputs, lines };
    return lines;
  }

  /** Each input's contribution to neuron `index` of `layer` (see highlight()), or null. */
  contributions(layer, index) {
    if (this.mode === "nudges") {
      const W = this.nudges && this.nudges.weights[layer - 1];
      return W ? W[index] : null;
    }
    const w = this.net.weights[layer - 1][index];
    const st = this.state;
    const prev = layer === 1 ? st && st.input : st && st.activations && st.activations[layer - 2];
    return prev ? w.map((v, i) => v * prev[i]) : w;
  }

  /** Paths (2 × BUCKETS, by sign and strength) of the strongest contributions c into j. */
  highlightLines(layer, j, c) {
    let max = 0;
    for (const v of c) max = Math.max(max, Math.abs(v));
    if (!max) return null;
    const order = [];
    for (let i = 0; i < c.length; i++) if (Math.abs(c[i]) >= HL_MIN * max) order.push(i);
    order.sort((a, b) => Math.abs(c[a]) - Math.abs(c[b])); // strong lines end up on top
    const src = this.layout.layers[layer - 1];
    const dst = this.layout.layers[layer];
    const paths = [];
    for (let b = 0; b < 2 * BUCKETS; b++) paths.push(new Path2D());
    const fromInput = layer === 1;
    for (const i of order.slice(fromInput ? -HL_INPUT_LINES : -HL_LINES)) {
      const b = Math.min(BUCKETS - 1, Math.floor((Math.abs(c[i]) / max) * BUCKETS));
      const p = paths[(c[i] >= 0 ? 0 : BUCKETS) + b];
      const [sx, sy] = sourcePoint(src, i);
      p.moveTo(sx, sy);
      p.lineTo(targetX(dst, j), dst.ys[j]);
    }
    return { paths, thin: fromInput };
  }

  // --- hover / tap ----------------------------------------------------------------------

  /** The neuron under the pointer becomes the selection; a click or a tap pins it. */
  pick(e, down) {
    if (!this.layout) return;
    const r = this.canvas.getBoundingClientRect();
    const hit = hitTest(this.layout, e.clientX - r.left, e.clientY - r.top);
    const touch = e.pointerType === "touch"; // no hover on a touch screen: a tap pins
    const was = [this.hovering, this.pinned];
    if (!touch) this.hovering = true;
    if (down) this.pinned = Boolean(hit);
    const same = hit && this.selected && hit.layer === this.selected.layer && hit.index === this.selected.index;
    if (hit && !same) {
      this.selected = hit;
      this.pinned = down || touch;
    }
    if ((hit && !same) || was[0] !== this.hovering || was[1] !== this.pinned) invalidate(this);
    if (hit && !same && this.onSelect) this.onSelect(hit);
  }

  /** Select a neuron from elsewhere (the layer matrix): ring it, without calling onSelect. */
  select(sel) {
    this.selected = sel;
    this.pinned = Boolean(sel);
    invalidate(this);
  }

  /** Viewport coordinates of a neuron's centre (tests and the page bench aim with it). */
  clientPoint(layer, index) {
    if (!this.layout) return null;
    const r = this.canvas.getBoundingClientRect();
    const lay = this.layout.layers[layer];
    if (!lay) return null;
    if (layer === 0) {
      const c = lay.size / 28;
      return { x: r.left + lay.x + (index % 28 + 0.5) * c, y: r.top + lay.y + (Math.floor(index / 28) + 0.5) * c };
    }
    return { x: r.left + lay.xs[index], y: r.top + lay.ys[index] };
  }

  /**
   * Viewport coordinates of the point a fraction t along the line from neuron i of layer − 1
   * into neuron j of layer (tests sample the highlighted lines there).
   */
  connectionPoint(layer, j, i, t = 0.5) {
    const L = this.layout;
    if (!L || layer < 1 || !L.layers[layer]) return null;
    const r = this.canvas.getBoundingClientRect();
    const dst = L.layers[layer];
    const [sx, sy] = sourcePoint(L.layers[layer - 1], i);
    const tx = targetX(dst, j);
    return { x: r.left + sx + (tx - sx) * t, y: r.top + sy + (dst.ys[j] - sy) * t };
  }

  /** Everything the detail panel needs about one neuron. */
  describe(sel) {
    if (!sel || !this.sizes) return null;
    const { layer, index } = sel;
    const st = this.state;
    const out = { layer, index, sizes: this.sizes, isOutput: layer === this.sizes.length - 1 };
    if (layer === 0) {
      out.activation = st && st.input ? st.input[index] : null;
      return out;
    }
    out.activation = st && st.activations ? st.activations[layer - 1][index] : null;
    out.z = st && st.zs ? st.zs[layer - 1][index] : null;
    if (this.mode === "nudges") {
      // What this example wants of the neuron: −∂C/∂a, and −∂C/∂w of its incoming weights.
      const n = this.nudges;
      out.nudge = n ? n.acts[layer - 1][index] : null;
      out.nudgeW = n && n.weights[layer - 1] ? n.weights[layer - 1][index] : null;
    }
    if (this.net) {
      out.bias = this.net.biases[layer - 1][index];
      out.weights = this.net.weights[layer - 1][index];
      out.prevActivations = layer === 1 ? (st ? st.input : null) : st && st.activations ? st.activations[layer - 2] : null;
    }
    return out;
  }
}

// --- layout -----------------------------------------------------------------------------

function computeLayout(sizes, W, H) {
  const usableH = H - TOP - BOTTOM;
  const layers = [];
  const gridSize = Math.min(usableH, W * 0.22);
  const inputLay = { n: sizes[0], x: 4, y: TOP + (usableH - gridSize) / 2, size: gridSize };
  inputLay.cx = inputLay.x + gridSize / 2;
  layers.push(inputLay);

  const outW = Math.max(78, Math.min(150, W * 0.2));
  const outLeft = W - outW;
  const hiddenCount = sizes.length - 2;
  const left = inputLay.x + gridSize;
  const slot = (outLeft - left) / (hiddenCount + 1);

  for (let h = 0; h < hiddenCount; h++) {
    const n = sizes[h + 1];
    const cx = left + slot * (h + 1);
    layers.push(placeLayer(n, cx, usableH, slot * 0.55));
  }
  // Outputs: one column, labels and probability bars to the right.
  const s = Math.min(28, usableH / 10);
  const r = Math.max(3, s * 0.36);
  const ox = outLeft + r + 4;
  const out = { n: sizes[sizes.length - 1], cx: ox, r, round: true, xs: [], ys: [], labelX: ox + r + 6 };
  const top = TOP + (usableH - s * out.n) / 2;
  for (let i = 0; i < out.n; i++) {
    out.xs.push(ox);
    out.ys.push(top + s * (i + 0.5));
  }
  out.x0 = ox - r;
  out.x1 = W;
  layers.push(out);
  return { layers, slot };
}

/** One hidden layer: a single column while the neurons stay legible, else a compact grid. */
function placeLayer(n, cx, usableH, maxW) {
  let cell;
  let cols;
  if (usableH / n >= 12) {
    cell = Math.min(28, usableH / n);
    cols = 1;
  } else {
    cell = 12;
    for (;;) {
      const rows = Math.max(1, Math.floor(usableH / cell));
      cols = Math.ceil(n / rows);
      if (cols * cell <= maxW || cell <= 2) break;
      cell -= 0.5;
    }
  }
  const rows = Math.ceil(n / cols);
  // Circles for a single column (as in the video); plain squares in a grid, where rings
  // around hundreds of tiny neurons would only add noise.
  const round = cols === 1;
  const r = round ? cell * 0.36 : Math.max(0.8, cell * 0.42);
  const w = cols * cell;
  const x0 = cx - w / 2;
  const y0 = TOP + (usableH - rows * cell) / 2;
  const lay = { n, cx, r, round, xs: [], ys: [], cell, cols, x0, x1: x0 + w };
  for (let i = 0; i < n; i++) {
    // Column-major so neuron order reads top to bottom, then left to right.
    const c = Math.floor(i / rows);
    const row = i % rows;
    lay.xs.push(x0 + cell * (c + 0.5));
    lay.ys.push(y0 + cell * (row + 0.5));
  }
  return lay;
}

// Lines end at a grid layer's edge (at the neuron's row) so they never cross its neurons.
function sourcePoint(src, i) {
  if (src.size !== undefined) {
    const c = src.size / 28;
    return [src.x + (i % 28) * c + c / 2, src.y + Math.floor(i / 28) * c + c / 2];
  }
  if (src.cols > 1) return [src.x1 + 1, src.ys[i]];
  return [src.xs[i] + (src.round ? src.r : 0), src.ys[i]];
}

function targetX(dst, j) {
  if (dst.cols > 1) return dst.x0 - 1;
  return dst.xs[j] - (dst.round ? dst.r : 0);
}

function hitTest(L, x, y) {
  const inp = L.layers[0];
  if (x >= inp.x && x < inp.x + inp.size && y >= inp.y && y < inp.y + inp.size) {
    const c = inp.size / 28;
    return { layer: 0, index: Math.floor((y - inp.y) / c) * 28 + Math.floor((x - inp.x) / c) };
  }
  for (let l = 1; l < L.layers.length; l++) {
    const lay = L.layers[l];
    const reach = Math.max(lay.r + 3, 6);
    const x0 = (lay.x0 !== undefined ? lay.x0 : lay.cx - reach) - reach;
    const x1 = l === L.layers.length - 1 ? lay.x1 : (lay.x1 !== undefined ? lay.x1 : lay.cx + reach) + reach;
    if (x < x0 || x > x1) continue;
    let best = -1;
    let bestD = Infinity;
    const isOut = l === L.layers.length - 1;
    for (let i = 0; i < lay.n; i++) {
      // On the output row, anywhere along the label and bar counts as that output.
      const dx = isOut ? 0 : lay.xs[i] - x;
      const dy = lay.ys[i] - y;
      const d = dx * dx + dy * dy;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    const lim = Math.max(lay.cell || lay.r * 2.8, 10);
    if (best >= 0 && bestD <= lim * lim) return { layer: l, index: best };
  }
  return null;
}

// --- helpers ----------------------------------------------------------------------------

// strongest() of each matrix drawn: the connections are redrawn for a new layout or theme
// too, and the matrix (a new array with every new weights) need not be sorted again.
const picks = new WeakMap();

function strongestCached(W) {
  if (!picks.has(W)) picks.set(W, strongest(W, MAX_LINES));
  return picks.get(W);
}

/** Room for the output labels before their bars: 14 px for digits, else the widest class name
 * ("Ankle boot") in the winner's bold font, plus a gap (issue 17 §3). */
function labelWidth(ctx, n) {
  if (digitClasses()) return 14;
  const font = ctx.font;
  ctx.font = "bold 13px system-ui, sans-serif";
  let widest = 0;
  for (let i = 0; i < n; i++) widest = Math.max(widest, ctx.measureText(className(i)).width);
  ctx.font = font;
  return Math.ceil(widest) + 8;
}

/** The `limit` largest |w| of a weight matrix (rows = outputs), as parallel arrays. */
function strongest(W, limit) {
  const rowsN = W.length;
  const colsN = rowsN ? W[0].length : 0;
  const total = rowsN * colsN;
  let max = 0;
  const abs = new Float32Array(total);
  for (let j = 0, k = 0; j < rowsN; j++) {
    const row = W[j];
    for (let i = 0; i < colsN; i++, k++) {
      const a = Math.abs(row[i]);
      abs[k] = a;
      if (a > max) max = a;
    }
  }
  let threshold = 0;
  if (total > limit) {
    // The limit-th largest |w| via a sorted copy: fine once per weight update.
    const sorted = abs.slice().sort();
    threshold = sorted[total - limit];
  }
  const rows = new Uint16Array(Math.min(total, limit));
  const cols = new Uint16Array(Math.min(total, limit));
  // Draw weak lines first so strong ones end up on top: order by |w| ascending.
  const order = [];
  for (let k = 0; k < total; k++) if (abs[k] >= threshold && abs[k] > 0) order.push(k);
  order.sort((a, b) => abs[a] - abs[b]);
  const keep = order.slice(Math.max(0, order.length - limit));
  for (let n = 0; n < keep.length; n++) {
    rows[n] = Math.floor(keep[n] / colsN);
    cols[n] = keep[n] % colsN;
  }
  return { rows, cols, count: keep.length, max: max || 1 };
}

/** Stroke 2 × BUCKETS paths (blue and orange, weak to strong); style(level) → [alpha, width]. */
function strokeBuckets(ctx, paths, style) {
  ctx.lineCap = "round";
  for (let level = 0; level < BUCKETS; level++) {
    const [alpha, width] = style((level + 1) / BUCKETS);
    ctx.lineWidth = width;
    for (const [c, b] of [[POS, level], [NEG, BUCKETS + level]]) {
      ctx.strokeStyle = `rgba(${c[0]},${c[1]},${c[2]},${alpha})`;
      ctx.stroke(paths[b]);
    }
  }
}

/** A neuron's fill for a nudge t in −1..1: blue wants up, orange wants down. */
function nudgeFill(t) {
  const base = theme().neuronOff;
  const c = t >= 0 ? POS : NEG;
  const k = Math.min(1, Math.abs(t));
  return `rgb(${[0, 1, 2].map((i) => Math.round(base[i] + (c[i] - base[i]) * k)).join(",")})`;
}

function brightnessScale(a, kind) {
  if (!a) return () => 0;
  if (kind === "output" || kind === "sigmoid") return (v) => v;
  if (kind === "tanh") return (v) => Math.abs(v);
  // ReLU is unbounded: show each neuron relative to the layer's brightest.
  let m = 0;
  for (const v of a) if (v > m) m = v;
  return m > 0 ? (v) => v / m : () => 0;
}

export function argmax(arr) {
  let best = 0;
  for (let i = 1; i < arr.length; i++) if (arr[i] > arr[best]) best = i;
  return best;
}
