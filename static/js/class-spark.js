// A run's accuracy curve on a canvas: the dashboard's small one per run and the projector's
// large one. x: the run's steps (0 .. its total, so the curve grows as it trains); y: 0..100%.

const css = (name, fallback) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

/** Draw `points` ([[step, accuracy], ...]) on `canvas`, sized to its CSS box. */
export function drawCurve(canvas, points, totalSteps, { grid = false, lineWidth = 1.5 } = {}) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, w, h);
  const pad = grid ? 8 * dpr : 2 * dpr;
  const left = grid ? 64 * dpr : pad; // room for the grid's labels
  const x = (step) => left + (w - left - pad) * Math.min(1, step / Math.max(1, totalSteps));
  const y = (acc) => h - pad - (h - 2 * pad) * Math.max(0, Math.min(1, acc));
  if (grid) {
    ctx.strokeStyle = css("--grid", "#2a313d");
    ctx.fillStyle = css("--muted", "#8d96a5");
    ctx.lineWidth = dpr;
    ctx.font = `${16 * dpr}px system-ui, sans-serif`;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const level of [0.5, 0.9, 1]) {
      ctx.beginPath();
      ctx.moveTo(left, y(level));
      ctx.lineTo(w - pad, y(level));
      ctx.stroke();
      ctx.fillText(`${Math.round(level * 100)}%`, left - 8 * dpr, y(level));
    }
  }
  if (!points || !points.length) return;
  ctx.strokeStyle = css("--blue", "#58c4dd");
  ctx.lineWidth = lineWidth * dpr;
  ctx.lineJoin = "round";
  ctx.beginPath();
  points.forEach(([step, acc], i) => (i ? ctx.lineTo(x(step), y(acc)) : ctx.moveTo(x(step), y(acc))));
  ctx.stroke();
}
