// The learners' link on the teacher's pages (dashboard, projector), readable at a glance and
// from the back of the room: on one line, shrunk to fit its box (down to a minimum size); a
// link too long even then wraps only at sensible points (after "://" or a dot, before the
// port's ":" or the path's "/": a <wbr> there), never inside a name or a number.

/** The link's pieces between its sensible break points. */
export function linkParts(link) {
  return link.split(/(?<=:\/\/)|(?<=\.)|(?=:(?!\/\/))|(?<![:/])(?=\/)/);
}

/** Lay out the link shown in `el` (its text) as above, now and whenever its box resizes. */
export function fitLink(el, minPx) {
  const link = el.textContent.trim();
  el.classList.add("fitted"); // one line (white-space: nowrap) unless .wraps
  let width = -1;
  const fit = () => {
    if (el.clientWidth === width) return; // its font size changed its height, not its width
    width = el.clientWidth;
    // Blink breaks at a <wbr> even under nowrap: they are there only when it must wrap.
    el.replaceChildren(link);
    el.classList.remove("wraps");
    el.style.fontSize = "";
    let size = parseFloat(getComputedStyle(el).fontSize);
    while (el.scrollWidth > el.clientWidth && size > minPx) {
      size = Math.max(minPx, Math.min(size - 1, Math.floor((size * el.clientWidth) / el.scrollWidth)));
      el.style.fontSize = `${size}px`;
    }
    if (el.scrollWidth <= el.clientWidth) return;
    // Each piece on one line (not even at its "-"), a <wbr> between pieces.
    el.replaceChildren();
    for (const part of linkParts(link)) {
      const piece = document.createElement("span");
      piece.textContent = part;
      if (el.childNodes.length) el.append(document.createElement("wbr"));
      el.append(piece);
    }
    el.classList.add("wraps");
  };
  new ResizeObserver(fit).observe(el);
  fit();
}
