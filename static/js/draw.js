// The drawing pad: pointer input (mouse, pen, touch) turned into round, smoothed strokes.
// Strokes are kept as vectors in 0..1 coordinates, so the pad can be redrawn at any size,
// undone stroke by stroke, and exported to a PNG that matches what the user sees.

const INK = "#ffffff";
const PAPER = "#000000";
// Stroke width as a fraction of the pad: MNIST digits are ~20 px tall with ~2.5 px strokes,
// and a pen about this thick, after the server crops and scales, lands in that range.
const WIDTH = 0.072;
// The image sent to the network is re-drawn with a pen relative to the drawing's own size
// (the longer side of its strokes' bounding box), so a small digit is not a blob once the
// server scales it up to 20 px: the pen is this fraction of that side, which gives strokes
// of ~1.8 px in MNIST's 20 px box, as a large drawing with the pad's pen does today.
const NET_RATIO = 0.1;
// A dot or a tiny tick keeps a tiny pen (in pad units) rather than none.
const NET_MIN_WIDTH = 0.008;

export class DrawPad {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{onStrokeEnd?: () => void, onChange?: (why?: string) => void, onStroke?: () => void}} hooks
   * onChange("stroke") when a stroke ends, onChange() for clear, undo and setPixels;
   * onStroke() when the stroke being drawn grew (at most once per animation frame).
   */
  constructor(canvas, hooks = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.hooks = hooks;
    this.items = []; // {type:"stroke", points:[[x,y],...]} | {type:"image", pixels:[784]}
    this.cleared = []; // drawings Clear removed, newest last: undo() restores them
    this.current = null;
    this.pointerId = null;
    this.dirty = true;
    this.lastPointerUp = 0;
    this.resize();
    new ResizeObserver(() => this.resize()).observe(canvas);
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    canvas.addEventListener("pointerup", (e) => this.up(e));
    canvas.addEventListener("pointercancel", (e) => this.up(e));
    // A long press on touch would otherwise open the context menu mid-stroke.
    canvas.addEventListener("contextmenu", (e) => e.preventDefault());
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const rect = this.canvas.getBoundingClientRect();
    const size = Math.max(1, Math.round(rect.width * dpr));
    if (this.canvas.width !== size) {
      this.canvas.width = size;
      this.canvas.height = size;
      this.render();
    }
  }

  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return [(e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height];
  }

  down(e) {
    if (e.button !== undefined && e.button !== 0) return;
    if (this.pointerId !== null) return; // one stroke at a time (ignore a second finger)
    e.preventDefault();
    this.pointerId = e.pointerId;
    this.canvas.setPointerCapture(e.pointerId);
    this.current = { type: "stroke", points: [this.point(e)] };
    this.items.push(this.current);
    this.render();
  }

  move(e) {
    if (e.pointerId !== this.pointerId || !this.current) return;
    // Coalesced events carry the points the browser merged between frames: fast strokes
    // stay round instead of turning into polygons.
    const evs = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
    for (const ev of evs.length ? evs : [e]) this.current.points.push(this.point(ev));
    this.scheduleRender();
  }

  up(e) {
    if (e.pointerId !== this.pointerId) return;
    this.pointerId = null;
    this.current = null;
    this.lastPointerUp = performance.now();
    this.render();
    if (this.hooks.onStrokeEnd) this.hooks.onStrokeEnd();
    if (this.hooks.onChange) this.hooks.onChange("stroke");
  }

  scheduleRender() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
      if (this.current && this.hooks.onStroke) this.hooks.onStroke();
    });
  }

  /** True while a stroke is being drawn (the pointer is down on the pad). */
  isDrawing() {
    return this.current !== null;
  }

  /** The longer side of the strokes' bounding box in pad units (1 with an MNIST digit on). */
  extent() {
    return strokesExtent(this.items) ?? 1;
  }

  /** Clear the pad; undo() brings the cleared drawing back. */
  clear() {
    if (this.items.length) this.cleared.push(this.items);
    this.items = [];
    this.current = null;
    this.pointerId = null;
    this.render();
    if (this.hooks.onChange) this.hooks.onChange();
  }

  undo() {
    if (!this.items.length) {
      if (!this.cleared.length) return;
      this.items = this.cleared.pop();
      this.render();
      if (this.hooks.onChange) this.hooks.onChange();
      return;
    }
    this.items.pop();
    this.render();
    if (this.hooks.onChange) this.hooks.onChange();
  }

  /** Replace the drawing with an MNIST digit (784 values 0..1, light ink on dark). */
  setPixels(pixels) {
    this.items = [{ type: "image", pixels }];
    this.render();
    if (this.hooks.onChange) this.hooks.onChange();
  }

  isEmpty() {
    return this.items.length === 0;
  }

  /** The digit's exact pixels when the drawing is only an MNIST digit, else null. */
  exactPixels() {
    return this.items.length === 1 && this.items[0].type === "image" ? this.items[0].pixels : null;
  }

  render() {
    paint(this.ctx, this.canvas.width, this.items);
  }

  /**
   * A PNG data URL of the drawing for the network, white ink on black as MNIST. Strokes keep
   * their place on the pad, but their pen is relative to the drawing's size (see NET_RATIO).
   */
  toDataURL(size = 280) {
    if (!this.exportCanvas) {
      this.exportCanvas = document.createElement("canvas");
    }
    const c = this.exportCanvas;
    c.width = size;
    c.height = size;
    paint(c.getContext("2d"), size, this.items, netWidth(this.items));
    return c.toDataURL("image/png");
  }
}

let digitCanvas = null;

/** The longer side of the strokes' bounding box (pad units); null for an image or nothing. */
function strokesExtent(items) {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const item of items) {
    if (item.type !== "stroke") return null;
    for (const [x, y] of item.points) {
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
  }
  return Number.isFinite(x0) ? Math.max(x1 - x0, y1 - y0) : null;
}

/** The network's pen width (pad units): NET_RATIO of the strokes' longer bounding-box side. */
export function netWidth(items) {
  const side = strokesExtent(items);
  // An MNIST digit on the pad, or nothing: keep the pad's pen.
  if (side === null) return WIDTH;
  return Math.max(NET_MIN_WIDTH, NET_RATIO * side);
}

function paint(ctx, size, items, width = WIDTH) {
  ctx.save();
  ctx.fillStyle = PAPER;
  ctx.fillRect(0, 0, size, size);
  ctx.strokeStyle = INK;
  ctx.fillStyle = INK;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.lineWidth = width * size;
  for (const item of items) {
    if (item.type === "image") paintPixels(ctx, size, item.pixels);
    else paintStroke(ctx, size, item.points, width);
  }
  ctx.restore();
}

function paintPixels(ctx, size, pixels) {
  if (!digitCanvas) {
    digitCanvas = document.createElement("canvas");
    digitCanvas.width = 28;
    digitCanvas.height = 28;
  }
  const dctx = digitCanvas.getContext("2d");
  const img = dctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.max(0, Math.min(255, Math.round(pixels[i] * 255)));
    img.data[4 * i] = v;
    img.data[4 * i + 1] = v;
    img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  dctx.putImageData(img, 0, 0);
  // Smoothed scaling makes the 28×28 digit look like ink rather than blocks; drawn with
  // "lighter" so strokes added on top of it combine like more ink.
  ctx.imageSmoothingEnabled = true;
  ctx.globalCompositeOperation = "lighter";
  ctx.drawImage(digitCanvas, 0, 0, size, size);
  ctx.globalCompositeOperation = "source-over";
}

function paintStroke(ctx, size, pts, width) {
  if (pts.length === 1) {
    ctx.beginPath();
    ctx.arc(pts[0][0] * size, pts[0][1] * size, (width * size) / 2, 0, Math.PI * 2);
    ctx.fill();
    return;
  }
  // Quadratic curves through the midpoints of successive points: a cheap, stable smoothing
  // that keeps the stroke passing near every sample without overshoot.
  ctx.beginPath();
  ctx.moveTo(pts[0][0] * size, pts[0][1] * size);
  for (let i = 1; i < pts.length - 1; i++) {
    const mx = ((pts[i][0] + pts[i + 1][0]) / 2) * size;
    const my = ((pts[i][1] + pts[i + 1][1]) / 2) * size;
    ctx.quadraticCurveTo(pts[i][0] * size, pts[i][1] * size, mx, my);
  }
  const last = pts[pts.length - 1];
  ctx.lineTo(last[0] * size, last[1] * size);
  ctx.stroke();
}

/** Draw 784 values (0..1) into a 28×28 canvas, e.g. "what the network sees". */
export function drawDigit(canvas, pixels, { invert = false } = {}) {
  const ctx = canvas.getContext("2d");
  if (canvas.width !== 28) {
    canvas.width = 28;
    canvas.height = 28;
  }
  const img = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    let v = pixels ? Math.max(0, Math.min(1, pixels[i])) : 0;
    if (invert) v = 1 - v;
    const b = Math.round(v * 255);
    img.data[4 * i] = b;
    img.data[4 * i + 1] = b;
    img.data[4 * i + 2] = b;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
