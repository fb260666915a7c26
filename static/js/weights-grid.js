// The "weights" view: every first-hidden-layer neuron's 784 weights as a 28×28 image, all at
// once, as the video shows its 16. A bigger layer is a scrollable grid whose tiles are drawn
// only once they scroll into view (and redrawn only when their weights changed). The weights
// are the NetworkJSON the page already has: a model's (cached by the model picker) or, while
// a run is selected, the run's, which the run controller re-fetches every few seconds
// (GET /api/runs/{id}/network, its one throttled route): so the maps change as it trains.

import { divergingInto } from "./colors.js";
import { count } from "./fmt.js";
import { invalidate } from "./frame.js";

const FEW = 16; // up to this many neurons: a fixed grid of big tiles, as in the video

export class WeightsGrid {
  /** root: the view's <details>; onPick({layer: 1, index}) when a tile is clicked. */
  constructor(root, { onPick } = {}) {
    this.root = root;
    this.grid = root.querySelector(".wg-grid");
    this.note = root.querySelector(".wg-note");
    this.count = root.querySelector(".wg-count");
    this.onPick = onPick;
    this.net = null;
    this.source = null; // whose weights: a model id or "run:<id>"
    this.shown = null; // the source whose maps are drawn in every tile in view (for tests)
    this.tiles = []; // {button, canvas, drawn} per neuron
    this.visible = new Set(); // tile indices in (or near) the scrolled view
    this.selected = -1;
    this.renders = 0; // tiles drawn so far (tests and the page bench read it)
    this.observer = new IntersectionObserver((entries) => this.seen(entries), { root: this.grid, rootMargin: "120px" });
    root.addEventListener("toggle", () => invalidate(this));
  }

  /** New weights of `source` (a model id, or "run:<id>": its latest), or null for none yet. */
  setNetwork(net, source = null) {
    this.net = net && net.weights && net.weights.length ? net : null;
    this.source = this.net ? source : null;
    this.shown = null;
    for (const t of this.tiles) t.drawn = false;
    invalidate(this);
  }

  /** Colours changed (theme switch): redraw every tile. */
  repaint() {
    this.setNetwork(this.net, this.source);
  }

  /** Mark the selected neuron's tile (only first-hidden-layer neurons have one). */
  select(sel) {
    const i = sel && sel.layer === 1 ? sel.index : -1;
    if (this.tiles[this.selected]) this.tiles[this.selected].button.classList.remove("on");
    this.selected = i;
    if (this.tiles[i]) this.tiles[i].button.classList.add("on");
  }

  seen(entries) {
    for (const e of entries) {
      const i = Number(e.target.dataset.index);
      if (e.isIntersecting) this.visible.add(i);
      else this.visible.delete(i);
    }
    invalidate(this);
  }

  render() {
    const W = this.net ? this.net.weights[0] : null;
    const n = W ? W.length : 0;
    if (n !== this.tiles.length) this.build(n);
    setText(this.count, n ? `(${n} map${n === 1 ? "" : "s"})` : "");
    setText(this.note, this.describe(n));
    if (!W || !this.root.open) return;
    for (const i of this.visible) {
      const t = this.tiles[i];
      if (t && !t.drawn) {
        drawMap(t.canvas, W[i]);
        t.drawn = true;
        this.renders++;
      }
    }
    if (this.visible.size) this.shown = this.source; // (none in view yet right after build)
  }

  describe(n) {
    if (!n) return "No weights yet: they appear once the model (or the run's first step) is loaded.";
    const sparse = this.net.downsampled
      ? ` This network is big, so the page has only each layer's ${count(this.net.kept_per_layer)} strongest weights: the maps are sparse.`
      : "";
    const scroll = n > FEW ? " Scroll for the rest; tiles are drawn as they come into view." : "";
    const layer = this.net.weights.length > 1 ? "hidden layer 1" : "the output layer";
    return `Each tile is one neuron of ${layer}: the weights it gives the input pixels, as a 28×28 image (blue positive, orange negative, each tile scaled to its own largest |w|). Click a tile for that neuron's arithmetic.${scroll}${sparse}`;
  }

  build(n) {
    this.observer.disconnect();
    this.visible.clear();
    this.tiles = [];
    this.grid.classList.toggle("few", n <= FEW);
    const buttons = [];
    for (let i = 0; i < n; i++) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "wg-tile";
      button.dataset.index = String(i);
      button.dataset.testid = "weights-tile";
      button.setAttribute("aria-label", `Hidden neuron ${i}: its weights as a 28 by 28 image`);
      const canvas = document.createElement("canvas");
      canvas.width = 28;
      canvas.height = 28;
      canvas.className = "pixelated";
      const label = document.createElement("span");
      label.className = "wg-i";
      label.textContent = String(i);
      button.append(canvas, label);
      button.addEventListener("click", () => this.onPick && this.onPick({ layer: 1, index: i }));
      buttons.push(button);
      this.tiles.push({ button, canvas, drawn: false });
    }
    this.grid.replaceChildren(...buttons);
    for (const b of buttons) this.observer.observe(b);
    this.select({ layer: 1, index: this.selected });
  }
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** One neuron's weights as a diverging 28×28 map, scaled to its own largest |w|. */
function drawMap(canvas, w) {
  let m = 0;
  for (const v of w) m = Math.max(m, Math.abs(v));
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(28, 28);
  divergingInto(img.data, w, m || 1);
  ctx.putImageData(img, 0, 0);
}
