// Where the lesson card goes: beside the spotlit element when the viewport has room, else
// above or below it (scrolling the page to make room), and on a phone a bottom sheet with the
// element scrolled above it. plan() decides once per step (and on resize); place() follows the
// element while the page scrolls or its layout changes.

const GAP = 12;
const PHONE = window.matchMedia("(max-width: 600px)");

export const isPhone = () => PHONE.matches;

const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

/**
 * The side of `target` the card goes on ("right" | "left" | "below" | "above" | "sheet") and
 * the scroll position that shows both (null: already in view). Sets the card's "wide" class.
 */
export function plan(target, card) {
  const vw = document.documentElement.clientWidth;
  const vh = window.innerHeight;
  const y0 = window.scrollY;
  const clampY = (y) => clamp(y, 0, Math.max(0, document.documentElement.scrollHeight - vh));
  const r = target.getBoundingClientRect();
  if (isPhone()) {
    card.classList.remove("wide");
    const shown = r.top >= 0 && r.bottom <= vh - card.offsetHeight;
    return { side: "sheet", scrollTop: shown ? null : clampY(y0 + r.top - 8) };
  }
  card.classList.remove("wide");
  const w = card.offsetWidth;
  const beside = vw - r.right >= w + 2 * GAP ? "right" : r.left >= w + 2 * GAP ? "left" : null;
  if (beside) {
    const shown = r.top >= 0 && r.bottom <= vh;
    return { side: beside, scrollTop: shown ? null : clampY(y0 + r.top - GAP) };
  }
  card.classList.add("wide");
  const room = card.offsetHeight + 2 * GAP;
  if (r.top >= GAP && r.bottom + room <= vh) return { side: "below", scrollTop: null };
  if (r.top >= room && r.bottom <= vh) return { side: "above", scrollTop: null };
  const below = clampY(y0 + r.top - GAP);
  if (r.top + y0 - below + r.height + room <= vh) return { side: "below", scrollTop: below };
  const above = clampY(y0 + r.top - room);
  if (r.top + y0 - above >= room - 1) return { side: "above", scrollTop: above };
  return { side: "below", scrollTop: below }; // taller than the viewport: the card covers its end
}

/** Put the card on `side` of the target as it is now on screen. */
export function place(card, target, side) {
  if (side === "sheet") {
    card.style.left = "";
    card.style.top = "";
    return;
  }
  const vw = document.documentElement.clientWidth;
  const vh = window.innerHeight;
  const r = target.getBoundingClientRect();
  const w = card.offsetWidth;
  const h = card.offsetHeight;
  const maxTop = Math.max(GAP, vh - h - GAP);
  let left;
  let top;
  if (side === "right" || side === "left") {
    left = side === "right" ? r.right + GAP : r.left - GAP - w;
    top = clamp(r.top, GAP, maxTop);
  } else {
    left = clamp(r.left + (r.width - w) / 2, GAP, vw - w - GAP);
    top = clamp(side === "below" ? r.bottom + GAP : r.top - GAP - h, GAP, maxTop);
  }
  card.style.left = `${Math.round(left)}px`;
  card.style.top = `${Math.round(top)}px`;
}
