// After each epoch: the 10×10 confusion matrix (a table of buttons, so it works with a
// keyboard and a screen reader) and a gallery of test digits — the most confident mistakes,
// or the digits behind a clicked cell.

import { className, digitClasses } from "./classes.js";
import { drawDigit } from "./draw.js";

export class ConfusionView {
  constructor(el, { onCell } = {}) {
    this.el = el;
    this.onCell = onCell;
    this.matrix = null;
  }

  show(matrix) {
    if (!matrix) return;
    this.matrix = matrix;
    // Built once and updated in place after each epoch: rebuilding would drop keyboard focus
    // and could swap a button out from under a click.
    if (!this.buttons || !this.el.contains(this.table)) this.build();
    this.nameHeaders();
    let maxOff = 1;
    for (let r = 0; r < 10; r++) for (let c = 0; c < 10; c++) if (r !== c) maxOff = Math.max(maxOff, matrix[r][c]);
    for (let r = 0; r < 10; r++) {
      const rowTotal = matrix[r].reduce((a, b) => a + b, 0) || 1;
      for (let c = 0; c < 10; c++) {
        const b = this.buttons[r][c];
        const n = matrix[r][c];
        b.textContent = String(n);
        const what = digitClasses() ? "test digits" : "test images";
        b.setAttribute("aria-label", `${n} ${what} that are ${className(r)}, predicted ${className(c)}`);
        // Diagonal: share of the row correct; off-diagonal: relative to the worst confusion.
        const k = r === c ? n / rowTotal : n / maxOff;
        b.className = r === c ? "diag" : n ? "off" : "zero";
        b.style.setProperty("--k", k.toFixed(3));
        b.disabled = n === 0;
      }
    }
  }

  build() {
    const table = document.createElement("table");
    table.className = "cm";
    const caption = document.createElement("caption");
    caption.className = "sr-only";
    caption.textContent = "Confusion matrix: rows are true digits, columns predicted digits";
    table.append(caption);
    const head = document.createElement("tr");
    head.append(cell("th", "", "corner"));
    this.heads = { col: [], row: [] };
    for (let p = 0; p < 10; p++) head.append(this.remember("col", cell("th", String(p), null, "col")));
    table.append(head);
    this.buttons = [];
    for (let r = 0; r < 10; r++) {
      const tr = document.createElement("tr");
      tr.append(this.remember("row", cell("th", String(r), null, "row")));
      const row = [];
      for (let c = 0; c < 10; c++) {
        const td = document.createElement("td");
        const b = document.createElement("button");
        b.type = "button";
        b.addEventListener("click", () => this.onCell && this.onCell(r, c));
        row.push(b);
        td.append(b);
        tr.append(td);
      }
      this.buttons.push(row);
      table.append(tr);
    }
    this.table = table;
    this.el.replaceChildren(table);
  }

  remember(kind, th) {
    this.heads[kind].push(th);
    return th;
  }

  /** Rows named by class ("Sneaker"), columns by number with the name as a tooltip (a named
   * column would be too wide); digits are their own names (issue 17 §3). */
  nameHeaders() {
    const digits = digitClasses();
    this.heads.row.forEach((th, i) => {
      th.textContent = digits ? String(i) : `${i} ${className(i)}`;
    });
    this.heads.col.forEach((th, i) => {
      th.title = digits ? "" : className(i);
    });
  }
}

function cell(tag, text, cls, scope) {
  const el = document.createElement(tag);
  el.textContent = text;
  if (cls) el.className = cls;
  if (scope) el.scope = scope;
  return el;
}

/** A grid of small digit images with "label → predicted (confidence)" captions. */
export function showGallery(el, digits, emptyText = "No digits.") {
  if (!digits || !digits.length) {
    const p = document.createElement("p");
    p.className = "muted small";
    p.textContent = emptyText;
    el.replaceChildren(p);
    return;
  }
  const frag = document.createDocumentFragment();
  for (const d of digits) {
    const fig = document.createElement("figure");
    fig.className = "thumb";
    const c = document.createElement("canvas");
    c.className = "pixelated";
    drawDigit(c, d.pixels);
    const label = `true ${className(d.label)}, predicted ${className(d.predicted)}` +
      (d.confidence !== undefined ? ` (${Math.round(d.confidence * 100)}%)` : "");
    c.setAttribute("role", "img");
    c.setAttribute("aria-label", `Test digit ${d.index}: ${label}`);
    const cap = document.createElement("figcaption");
    cap.className = "small";
    cap.textContent = `${className(d.label)}→${className(d.predicted)}` + (d.confidence !== undefined ? ` ${Math.round(d.confidence * 100)}%` : "");
    fig.append(c, cap);
    frag.append(fig);
  }
  el.replaceChildren(frag);
}
