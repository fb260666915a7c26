// One layer as a matrix, as in the video: a = σ(W a⁰ + b), typeset in MathML, with W drawn as
// a heat map (rows = this layer's neurons, columns = the previous layer's), the previous
// activations a⁰ as a strip under W's columns, and b, z and a as columns beside its rows.
// Big layers are drawn downsampled (the view says by how much); hovering any cell shows its
// exact value, and the neuron selected in the network view has its row highlighted.

import { divergingInto, theme } from "./colors.js";
import { num } from "./fmt.js";
import { invalidate } from "./frame.js";

const MAX_ROWS = 128; // drawn rows of W before it is downsampled
const MAX_COLS = 784;
const MATHML = "http://www.w3.org/1998/Math/MathML";
const $ = (id) => document.getElementById(id);

export class LayerView {
  /** src: {network() → NetworkJSON | null, state() → the view's {input, zs, activations}, kind(), outputKind()} */
  constructor(src, { onRow } = {}) {
    this.src = src;
    this.onRow = onRow;
    this.layer = 1; // 1 = the first hidden layer (weights W⁰ in the .npz)
    this.row = null; // highlighted neuron of this layer
    this.pick = $("layer-pick");
    this.tip = $("mx-tip");
    this.mark = $("mx-mark");
    this.canvases = { W: $("mx-W"), a0: $("mx-a0"), b: $("mx-b"), z: $("mx-z"), a: $("mx-a") };
    this.pick.addEventListener("change", () => this.setLayer(Number(this.pick.value), null));
    for (const [name, c] of Object.entries(this.canvases)) {
      c.addEventListener("pointermove", (e) => this.hover(name, e));
      c.addEventListener("pointerleave", () => {
        this.tip.hidden = true;
      });
      c.addEventListener("click", (e) => this.click(name, e));
    }
    // The keyboard's way in: W is one tab stop; arrows move a cell cursor whose values (and its
    // row's b, z, a) are shown in the tip and read out; Enter selects the row's neuron.
    this.cursor = null; // {i, j} while W has focus
    const W = this.canvases.W;
    W.tabIndex = 0;
    W.addEventListener("focus", () => this.moveCursor(0, 0));
    W.addEventListener("blur", () => {
      this.cursor = null;
      this.tip.hidden = true;
    });
    W.addEventListener("keydown", (e) => this.key(e));
    new ResizeObserver(() => this.update()).observe($("mx-grid"));
  }

  /** Show layer `layer` (1..L) with neuron `row` highlighted (null: none). */
  setLayer(layer, row) {
    this.layer = layer;
    this.row = row;
    if (Number(this.pick.value) !== layer) this.pick.value = String(layer);
    this.update();
  }

  /** The network view selected a neuron: follow it (input pixels have no row). */
  selectNeuron(sel) {
    if (sel && sel.layer >= 1) this.setLayer(sel.layer, sel.index);
  }

  fillPicker(sizes) {
    const key = sizes.join("-");
    if (this.pickerFor === key) return;
    this.pickerFor = key;
    this.pick.replaceChildren();
    for (let l = 1; l < sizes.length; l++) {
      const o = document.createElement("option");
      o.value = String(l);
      const what = l === sizes.length - 1 ? "the outputs" : `hidden layer ${l}`;
      o.textContent = `${what}: ${sizes[l]} × ${sizes[l - 1]} weights`;
      this.pick.append(o);
    }
    if (this.layer >= sizes.length) this.layer = 1;
    this.pick.value = String(this.layer);
  }

  /** The numbers of the shown layer, or null before the weights arrive. */
  data() {
    const net = this.src.network();
    if (!net) return null;
    this.fillPicker(net.sizes);
    const l = this.layer;
    const st = this.src.state();
    const fits = Boolean(st && st.zs && st.activations && st.zs.length === net.sizes.length - 1);
    return {
      l,
      sizes: net.sizes,
      W: net.weights[l - 1],
      b: net.biases[l - 1],
      z: fits ? st.zs[l - 1] : null,
      a: fits ? st.activations[l - 1] : null,
      a0: l === 1 ? st && st.input : fits ? st.activations[l - 2] : null,
      last: l === net.sizes.length - 1,
    };
  }

  /** Redraw for new numbers: at most once per frame (answers arrive often while drawing). */
  update() {
    invalidate(this);
  }

  render() {
    const d = this.data();
    this.d = d;
    if (!d) return;
    const rows = d.W.length;
    const cols = d.W[0].length;
    const fr = Math.ceil(rows / MAX_ROWS);
    const fc = Math.ceil(cols / MAX_COLS);
    this.equation(d);
    $("mx-note").textContent = fr > 1 || fc > 1
      ? `W has ${rows}×${cols} weights: drawn downsampled, each pixel the mean of ${fr}×${fc} weights. Hover for exact values.`
      : `W has ${rows}×${cols} weights, one cell each. Hover any cell for its value.`;
    const width = $("mx-grid").clientWidth;
    const side = 3 * 34; // b, z, a columns
    const cellW = Math.max(0.25, Math.min(16, (width - side) / Math.ceil(cols / fc)));
    if (cellW < 0.9) $("mx-note").textContent += ` On this screen about ${Math.round(1 / cellW)} columns share one screen pixel.`;
    const cellH = Math.max(2, Math.min(16, 260 / Math.ceil(rows / fr)));
    this.geom = { rows, cols, cssW: cellW * Math.ceil(cols / fc), cssH: cellH * Math.ceil(rows / fr) };
    // W changes only with the weights or the size: not on every probe of a training run.
    const key = `${this.geom.cssW}x${this.geom.cssH}`;
    if (this.painted !== d.W || this.paintedKey !== key || this.paintedTheme !== theme()) {
      paintMatrix(this.canvases.W, d.W, fr, fc, this.geom);
      [this.painted, this.paintedKey, this.paintedTheme] = [d.W, key, theme()];
    }
    paintVector(this.canvases.a0, d.a0, "row", this.geom.cssW, 14, d.l === 1 ? "sigmoid" : this.src.kind());
    for (const k of ["b", "z"]) paintVector(this.canvases[k], d[k], "col", 22, this.geom.cssH, "diverging");
    paintVector(this.canvases.a, d.a, "col", 22, this.geom.cssH, d.last ? "sigmoid" : this.src.kind());
    $("mx-empty").hidden = Boolean(d.z);
    $("mx-a0-h").style.maxWidth = `${Math.max(160, this.geom.cssW)}px`;
    this.placeMark();
  }

  placeMark() {
    const d = this.d;
    const m = this.mark;
    if (!d || this.row === null || this.row >= d.W.length) {
      m.hidden = true;
      return;
    }
    const W = this.canvases.W;
    const rowH = this.geom.cssH / d.W.length;
    m.hidden = false;
    m.dataset.row = String(this.row);
    m.style.top = `${W.offsetTop + this.row * rowH - 1}px`;
    m.style.height = `${Math.max(2, rowH) + 2}px`;
    m.style.left = `${W.offsetLeft - 2}px`;
    const last = this.canvases.a;
    m.style.width = `${last.offsetLeft + last.offsetWidth - W.offsetLeft + 4}px`;
    $("mx-row").textContent = this.rowText(this.row);
  }

  rowText(j) {
    const d = this.d;
    const who = d.last ? `output “${j}”` : `neuron ${j} of hidden layer ${d.l}`;
    return `Row ${j} (${who}): b = ${num(d.b[j])}, z = ${num(d.z && d.z[j])}, a = ${num(d.a && d.a[j])}.`;
  }

  /** Which cell of canvas `name` the pointer is over: {j (row), i (column)}. */
  cell(name, e) {
    const r = this.canvases[name].getBoundingClientRect();
    const fx = Math.max(0, Math.min(0.9999, (e.clientX - r.left) / r.width));
    const fy = Math.max(0, Math.min(0.9999, (e.clientY - r.top) / r.height));
    const { rows, cols } = this.geom;
    return { j: Math.floor(fy * rows), i: Math.floor(fx * cols) };
  }

  /** The value of cell (j, i) of canvas `name`, in words. */
  cellText(name, i, j) {
    const d = this.d;
    const from = (k) => (d.l === 1 ? `pixel (${k % 28}, ${Math.floor(k / 28)})` : `neuron ${k} of layer ${d.l - 1}`);
    if (name === "W") return `W[${j}, ${i}] = ${num(d.W[j][i])}: from ${from(i)} to neuron ${j}`;
    if (name === "a0") return `a(${d.l - 1})[${i}] = ${num(d.a0 && d.a0[i])} (${from(i)})`;
    return `${name}[${j}] = ${num(d[name] && d[name][j])}`;
  }

  /** The tip with `text` near (x, y) in viewport pixels. */
  showTip(text, x, y) {
    this.tip.textContent = text;
    this.tip.hidden = false;
    const box = $("mx-grid").getBoundingClientRect();
    const left = Math.min(x - box.left + 12, box.width - this.tip.offsetWidth - 4);
    this.tip.style.left = `${Math.max(0, left)}px`;
    this.tip.style.top = `${y - box.top + 16}px`;
  }

  hover(name, e) {
    if (!this.d) return;
    const { i, j } = this.cell(name, e);
    this.showTip(this.cellText(name, i, j), e.clientX, e.clientY);
  }

  /** Move the keyboard's cell cursor in W by (di, dj); Enter selects its row. */
  key(e) {
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    const big = e.shiftKey ? 10 : 1;
    if (moves[e.key]) {
      e.preventDefault();
      this.moveCursor(moves[e.key][0] * big, moves[e.key][1] * big);
    } else if (e.key === "Home" || e.key === "End") {
      e.preventDefault();
      if (this.cursor) this.cursor.i = e.key === "Home" ? 0 : this.geom.cols - 1;
      this.moveCursor(0, 0);
    } else if ((e.key === "Enter" || e.key === " ") && this.cursor && this.d) {
      e.preventDefault();
      this.row = this.cursor.j;
      this.placeMark();
      if (this.onRow) this.onRow(this.layer, this.cursor.j);
    }
  }

  moveCursor(di, dj) {
    const d = this.d;
    if (!d || !this.geom) return;
    const { rows, cols } = this.geom;
    const c = this.cursor || { i: 0, j: this.row ?? 0 };
    c.i = Math.max(0, Math.min(cols - 1, c.i + di));
    c.j = Math.max(0, Math.min(rows - 1, c.j + dj));
    this.cursor = c;
    const r = this.canvases.W.getBoundingClientRect();
    const x = r.left + ((c.i + 0.5) / cols) * r.width;
    const y = r.top + ((c.j + 0.5) / rows) * r.height;
    const text = `${this.cellText("W", c.i, c.j)}. Row ${c.j}: b = ${num(d.b[c.j])}, z = ${num(d.z && d.z[c.j])}, a = ${num(d.a && d.a[c.j])}.`;
    this.showTip(text, x, y);
    $("mx-live").textContent = text;
  }

  click(name, e) {
    if (name === "a0" || !this.d) return;
    const { j } = this.cell(name, e);
    this.row = j;
    this.placeMark();
    if (this.onRow) this.onRow(this.layer, j);
  }

  equation(d) {
    const sup = (base, s) => mrow("msup", [mi(base), mrow("mrow", [mo("("), mn(String(s)), mo(")")])]);
    const fn = d.last ? this.src.outputKind() : this.src.kind();
    const f = fn === "sigmoid" ? mi("σ") : mi(fn === "softmax" ? "softmax" : fn === "relu" ? "ReLU" : "tanh");
    const math = document.createElementNS(MATHML, "math");
    math.setAttribute("display", "block");
    math.append(mrow("mrow", [
      sup("a", d.l), mo("="), f, mo("("), sup("W", d.l), sup("a", d.l - 1), mo("+"), sup("b", d.l), mo(")"),
    ]));
    $("mx-eq").replaceChildren(math);
    const [n, m] = [d.sizes[d.l], d.sizes[d.l - 1]];
    const prev = d.l === 1 ? "the input pixels" : `hidden layer ${d.l - 1}`;
    $("mx-dims").textContent = `W is ${n}×${m}: one row per neuron of this layer, one column per neuron of ${prev}. b, z and a have ${n} numbers each.`;
    $("mx-a0-h").textContent = `a(${d.l - 1}): ${prev}, one cell under each column of W`;
  }
}

function mrow(tag, kids) {
  const e = document.createElementNS(MATHML, tag);
  e.append(...kids);
  return e;
}
const token = (tag) => (t) => {
  const e = document.createElementNS(MATHML, tag);
  e.textContent = t;
  return e;
};
const mi = token("mi");
const mo = token("mo");
const mn = token("mn");

function paintMatrix(canvas, W, fr, fc, geom) {
  const rows = Math.ceil(W.length / fr);
  const cols = Math.ceil(W[0].length / fc);
  const vals = new Float32Array(rows * cols);
  let m = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let s = 0;
      let n = 0;
      for (let j = r * fr; j < Math.min(W.length, (r + 1) * fr); j++) {
        for (let i = c * fc; i < Math.min(W[0].length, (c + 1) * fc); i++, n++) s += W[j][i];
      }
      vals[r * cols + c] = s / n;
      m = Math.max(m, Math.abs(s / n));
    }
  }
  canvas.width = cols;
  canvas.height = rows;
  canvas.style.width = `${geom.cssW}px`;
  canvas.style.height = `${geom.cssH}px`;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(cols, rows);
  divergingInto(img.data, vals, m);
  ctx.putImageData(img, 0, 0);
}

/** A vector as a strip of cells: diverging (b, z) or brightness (activations). */
function paintVector(canvas, v, dir, cssW, cssH, kind) {
  canvas.style.width = `${cssW}px`;
  canvas.style.height = `${cssH}px`;
  const n = v ? v.length : 1;
  canvas.width = dir === "row" ? n : 1;
  canvas.height = dir === "row" ? 1 : n;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(canvas.width, canvas.height);
  const t = theme();
  if (!v) {
    for (let k = 0; k < img.data.length; k += 4) img.data.set([...t.neuronOff, 255], k);
  } else if (kind === "diverging") {
    let m = 0;
    for (const x of v) m = Math.max(m, Math.abs(x));
    divergingInto(img.data, v, m);
  } else {
    let m = 1;
    if (kind === "relu") m = Math.max(1e-9, ...v);
    const lo = t.neuronOff;
    const hi = t.neuronOn;
    for (let k = 0; k < n; k++) {
      const f = Math.max(0, Math.min(1, Math.abs(v[k]) / m));
      img.data.set([0, 1, 2].map((c) => lo[c] + (hi[c] - lo[c]) * f).concat(255), 4 * k);
    }
  }
  ctx.putImageData(img, 0, 0);
}
