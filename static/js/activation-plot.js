// A small plot of a neuron's activation function (sigmoid, ReLU or tanh) with a dot where this
// neuron's z landed, so the "squish" is visible. The curve is the function itself, drawn; the
// dot is the server's (z, a).

import { theme } from "./colors.js";
import { num } from "./fmt.js";

const CURVES = {
  sigmoid: { f: (t) => 1 / (1 + Math.exp(-t)), lo: 0, hi: 1, name: "σ(z) = 1 / (1 + e^−z)" },
  tanh: { f: Math.tanh, lo: -1, hi: 1, name: "tanh(z)" },
  relu: { f: (t) => Math.max(0, t), lo: 0, hi: null, name: "ReLU(z) = max(0, z)" },
};

export function curveName(kind) {
  return CURVES[kind] ? CURVES[kind].name : kind;
}

/** Draw `kind` on `canvas` (CSS size from its box) and mark (z, a). */
export function drawActivation(canvas, kind, z, a) {
  const curve = CURVES[kind];
  if (!curve) return;
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 220;
  const h = canvas.clientHeight || 110;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const t = theme();
  const span = Math.max(6, Math.ceil(Math.abs(z ?? 0) * 1.15));
  const lo = curve.lo;
  const hi = curve.hi ?? span;
  const pad = { l: 26, r: 8, t: 8, b: 18 };
  const X = (v) => pad.l + ((v + span) / (2 * span)) * (w - pad.l - pad.r);
  const Y = (v) => h - pad.b - ((v - lo) / (hi - lo)) * (h - pad.t - pad.b);
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = t.grid;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(X(-span), Y(Math.max(lo, 0)));
  ctx.lineTo(X(span), Y(Math.max(lo, 0)));
  ctx.moveTo(X(0), Y(lo));
  ctx.lineTo(X(0), Y(hi));
  ctx.stroke();
  ctx.fillStyle = t.muted;
  ctx.font = "10px system-ui, sans-serif";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  ctx.fillText(String(hi), pad.l - 4, Y(hi));
  ctx.fillText(String(lo), pad.l - 4, Y(lo));
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  ctx.fillText(`−${span}`, X(-span) + 8, h - pad.b + 3);
  ctx.fillText("z", X(0), h - pad.b + 3);
  ctx.fillText(`${span}`, X(span) - 8, h - pad.b + 3);
  ctx.strokeStyle = t.blue;
  ctx.lineWidth = 2;
  ctx.beginPath();
  for (let i = 0; i <= 120; i++) {
    const v = -span + (2 * span * i) / 120;
    const y = Y(Math.min(hi, curve.f(v)));
    if (i) ctx.lineTo(X(v), y);
    else ctx.moveTo(X(v), y);
  }
  ctx.stroke();
  if (z === null || z === undefined || a === null || a === undefined) return;
  const px = X(Math.max(-span, Math.min(span, z)));
  const py = Y(Math.min(hi, a));
  ctx.strokeStyle = t.accent;
  ctx.setLineDash([3, 3]);
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(px, Y(lo));
  ctx.lineTo(px, py);
  ctx.lineTo(X(-span), py);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = t.accent;
  ctx.beginPath();
  ctx.arc(px, py, 4, 0, Math.PI * 2);
  ctx.fill();
  // The label goes top left, where the curves are low; bottom right if the point's own
  // dashed line runs along the top.
  const high = py < pad.t + 16;
  ctx.textAlign = high ? "right" : "left";
  ctx.textBaseline = high ? "bottom" : "top";
  const label = `z = ${num(z)} → a = ${num(a)}`;
  ctx.fillText(label, high ? Math.min(w - pad.r - 2, px - 6) : pad.l + 4, high ? h - pad.b - 4 : pad.t);
}
