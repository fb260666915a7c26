// One place that turns "something changed" into at most one redraw per animation frame.
// Live training sends ~20 metric messages and a few probe results a second; drawing on each
// would waste frames, so components call invalidate() and render once in the next frame.

const dirty = new Set();
let scheduled = false;

/** Ask for `thing.render()` in the next animation frame (deduplicated). */
export function invalidate(thing) {
  dirty.add(thing);
  if (!scheduled) {
    scheduled = true;
    requestAnimationFrame(flush);
  }
}

// Time spent rendering, per component: {name: {count, totalMs, maxMs}} (for the page bench).
export const renderStats = {};

function flush() {
  scheduled = false;
  const items = [...dirty];
  dirty.clear();
  for (const item of items) {
    const t0 = performance.now();
    try {
      item.render();
    } catch (err) {
      // One broken component must not stop the others from drawing.
      console.warn("render failed", err);
    }
    const dt = performance.now() - t0;
    const name = item.constructor.name;
    const st = renderStats[name] || (renderStats[name] = { count: 0, totalMs: 0, maxMs: 0 });
    st.count++;
    st.totalMs += dt;
    st.maxMs = Math.max(st.maxMs, dt);
  }
}

/**
 * Count animation frames for `ms` milliseconds: the page's smoothness as the user feels it.
 * Returns {fps, frames, meanFrameMs, p95FrameMs, maxFrameMs}.
 */
export function measureFps(ms = 3000) {
  return new Promise((resolve) => {
    const gaps = [];
    let start = null;
    let last = null;
    const tick = (t) => {
      if (start === null) {
        start = t;
        last = t;
      } else {
        gaps.push(t - last);
        last = t;
      }
      if (t - start < ms) requestAnimationFrame(tick);
      else {
        const sorted = [...gaps].sort((a, b) => a - b);
        const elapsed = last - start;
        resolve({
          fps: (gaps.length * 1000) / elapsed,
          frames: gaps.length,
          meanFrameMs: elapsed / gaps.length,
          p95FrameMs: sorted[Math.floor(sorted.length * 0.95)] || 0,
          maxFrameMs: sorted[sorted.length - 1] || 0,
        });
      }
    };
    requestAnimationFrame(tick);
  });
}
