// Where the lesson card goes. A step shows one or more elements (its subject and its
// controls); the card must cover none of them. On a wide screen it goes beside, above or below
// them (the page scrolled so they are all in view); on a phone it is a bottom sheet with the
// elements scrolled above it. plan() decides once per step (and on resize); place() follows
// the elements while the page scrolls or its layout changes.

const GAP = 12;
const PHONE = window.matchMedia("(max-width: 600px)");

export const isPhone = () => PHONE.matches;

const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

/** The rectangle around all of `rects`. */
function union(rects) {
  const top = Math.min(...rects.map((r) => r.top));
  const left = Math.min(...rects.map((r) => r.left));
  const bottom = Math.max(...rects.map((r) => r.bottom));
  const right = Math.max(...rects.map((r) => r.right));
  return { top, left, bottom, right, width: right - left, height: bottom - top };
}

const overlaps = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;

/** An element's rectangle on screen as a plain object (a DOMRect's fields don't spread). */
function box(el) {
  const r = el.getBoundingClientRect();
  return { top: r.top, left: r.left, bottom: r.bottom, right: r.right, width: r.width, height: r.height };
}

const shift = (r, dy) => ({ ...r, top: r.top - dy, bottom: r.bottom - dy });

/** The card's top-left on `side` of rect `r`, kept inside the viewport. */
function spot(r, side, w, h, vw, vh) {
  const maxTop = Math.max(GAP, vh - h - GAP);
  if (side === "right" || side === "left") {
    return { left: side === "right" ? r.right + GAP : r.left - GAP - w, top: clamp(r.top, GAP, maxTop) };
  }
  return {
    left: clamp(r.left + (r.width - w) / 2, GAP, vw - w - GAP),
    top: side === "below" ? r.bottom + GAP : r.top - GAP - h,
  };
}

const SIDES = ["right", "left", "below", "above"];

/**
 * The first place (anchor: index of a rect or -1 for all of them, side) where a w×h card fits
 * on screen and covers none of `rects`; null if there is none.
 */
function fit(rects, w, h, vw, vh) {
  const all = union(rects);
  const anchors = [-1, ...rects.keys()];
  for (const anchor of anchors) {
    const r = anchor < 0 ? all : rects[anchor];
    for (const side of SIDES) {
      const p = spot(r, side, w, h, vw, vh);
      const box = { left: p.left, top: p.top, right: p.left + w, bottom: p.top + h };
      const inside = box.left >= 0 && box.right <= vw && box.top >= 0 && box.bottom <= vh;
      if (inside && !rects.some((t) => overlaps(box, t))) return { anchor, side };
    }
  }
  return null;
}

/**
 * Where the card goes for `targets` (elements) and the scroll position that shows them all
 * beside it (scrollTop null: already in view): {side, anchor, scrollTop}. side "sheet" on a
 * phone. Sets the card's "wide" class when it must go above or below a wide subject.
 */
export function plan(targets, card) {
  const vw = document.documentElement.clientWidth;
  const vh = window.innerHeight;
  const y0 = window.scrollY;
  const clampY = (y) => clamp(y, 0, Math.max(0, document.documentElement.scrollHeight - vh));
  const rects = targets.map(box);
  const all = union(rects);
  if (isPhone()) {
    card.classList.remove("wide");
    const room = vh - card.offsetHeight;
    const shown = all.top >= 0 && all.bottom <= room;
    // Centre the subject in the room above the sheet (its top first if it is taller).
    const top = all.height < room ? all.top - (room - all.height) / 2 : all.top - 4;
    return { side: "sheet", anchor: -1, scrollTop: shown ? null : clampY(y0 + top) };
  }
  for (const wide of [false, true]) {
    card.classList.toggle("wide", wide);
    const w = card.offsetWidth;
    const h = card.offsetHeight;
    const inView = all.top >= 0 && all.bottom <= vh;
    const here = inView ? fit(rects, w, h, vw, vh) : null;
    if (here) return { ...here, scrollTop: null };
    // Scroll so the subject starts near the top, or leaves room for the card above it.
    for (const target of [y0 + all.top - GAP, y0 + all.top - h - 2 * GAP, y0 + all.top - (vh - all.height) / 2]) {
      const y = clampY(target);
      const moved = rects.map((r) => shift(r, y - y0));
      const u = union(moved);
      if (u.top < 0 || u.bottom > vh) continue;
      const there = fit(moved, w, h, vw, vh);
      if (there) return { ...there, scrollTop: y };
    }
  }
  card.classList.add("wide");
  // Taller than the viewport with the card: show its start, the card below what fits.
  return { side: "below", anchor: -1, scrollTop: clampY(y0 + all.top - GAP) };
}

/** Put the card where plan() said, for the targets as they are now on screen. */
export function place(card, targets, where) {
  if (where.side === "sheet") {
    card.style.left = "";
    card.style.top = "";
    return;
  }
  const vw = document.documentElement.clientWidth;
  const vh = window.innerHeight;
  const rects = targets.map(box);
  const r = where.anchor < 0 ? union(rects) : rects[where.anchor];
  const w = card.offsetWidth;
  const h = card.offsetHeight;
  const p = spot(r, where.side, w, h, vw, vh);
  const top = clamp(p.top, GAP, Math.max(GAP, vh - h - GAP));
  card.style.left = `${Math.round(p.left)}px`;
  card.style.top = `${Math.round(top)}px`;
}
