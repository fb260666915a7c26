// "My drawings" (issue 17 §1): the learner's labelled drawings grouped by digit with the count
// of each, relabel (a select per drawing) and delete, export (the MNIST-format zip from
// GET /api/drawings/export) and import (a zip of PNGs + labels.csv, uploaded with a progress
// bar; a refused import lists its bad rows one by one). Everything the server or the learner
// wrote (labels, file names, error messages) goes in as text, never as HTML.

import { describeError } from "./api.js";
import { ImportError, aDigit, drawings, imageUrl, labelNames } from "./drawings-api.js";

const ERRORS_SHOWN = 50; // rows listed of a refused import; the rest are counted
// Drawings shown per digit until "Show all" (an import of 10,000 would be 110,000 elements).
const PER_DIGIT = 40;
const RELABEL_SETTLE_MS = 350;

export class DrawingsPanel {
  constructor(root) {
    this.root = root;
    const $ = (id) => root.querySelector(`[data-testid=${id}]`);
    this.total = $("drawings-total");
    this.empty = $("drawings-empty");
    this.countsEl = $("drawings-counts");
    this.gallery = $("drawings-gallery");
    this.exportLink = $("drawings-export");
    this.importButton = $("drawings-import");
    this.file = $("drawings-file");
    this.progress = $("drawings-progress");
    this.status = $("drawings-status");
    this.errors = $("drawings-errors");
    this.why = $("drawings-why");
    this.names = null;
    this.expanded = new Set(); // the digits whose every drawing is shown
    this.importButton.addEventListener("click", () => this.file.click());
    this.file.addEventListener("change", () => this.upload());
    this.exportLink.addEventListener("click", (e) => {
      if (this.exportLink.getAttribute("aria-disabled") === "true") e.preventDefault();
    });
    drawings.subscribe(() => this.render());
    labelNames()
      .then((names) => {
        this.names = names;
        this.render();
      })
      .catch(() => {});
  }

  name(label) {
    return this.names && this.names[label] !== undefined ? this.names[label] : String(label);
  }

  render() {
    if (!this.names) return;
    const n = drawings.total;
    const counts = drawings.counts();
    this.total.textContent = drawings.loaded ? `${n} drawing${n === 1 ? "" : "s"}` : "";
    this.empty.hidden = n > 0 || Boolean(drawings.blocked);
    this.why.textContent = drawings.blocked || drawings.error || "";
    this.why.hidden = !(drawings.blocked || drawings.error);
    this.countsEl.replaceChildren(...this.names.map((name, i) => {
      const li = document.createElement("li");
      li.dataset.label = String(i);
      li.className = counts[i] ? "" : "none";
      const digit = document.createElement("span");
      digit.className = "count-digit";
      digit.textContent = name;
      const c = document.createElement("span");
      c.className = "count-n";
      c.setAttribute("data-testid", `drawings-count-${i}`);
      c.textContent = String(counts[i] || 0);
      li.title = `${counts[i] || 0} labelled ${name}`;
      li.append(digit, c);
      return li;
    }));
    this.countsEl.hidden = n === 0;
    this.renderGallery();
    const none = n === 0;
    this.exportLink.setAttribute("aria-disabled", String(none || Boolean(drawings.blocked)));
    this.exportLink.title = none ? "Nothing to export yet" : "A zip of IDX files and a CSV, in MNIST's format";
    this.importButton.disabled = Boolean(drawings.blocked);
    this.importButton.title = drawings.blocked || "";
  }

  renderGallery() {
    const groups = [];
    this.names.forEach((name, label) => {
      const items = drawings.list.filter((d) => d.label === label);
      if (!items.length) return;
      const group = document.createElement("section");
      group.className = "drawings-group";
      group.setAttribute("data-testid", `drawings-group-${label}`);
      group.setAttribute("aria-label", `Your drawings labelled ${name}`);
      const h = document.createElement("h3");
      h.textContent = `${name} · ${items.length}`;
      const ul = document.createElement("ul");
      ul.className = "drawings-list";
      // The newest first; past PER_DIGIT, a button shows the rest.
      const all = this.expanded.has(label);
      const shown = items.slice().reverse().slice(0, all ? items.length : PER_DIGIT);
      ul.append(...shown.map((d) => this.item(d)));
      group.append(h, ul);
      if (shown.length < items.length) group.append(this.more(label, name, items.length));
      groups.push(group);
    });
    // Keep the focus where it was across the re-render (a relabel moves its drawing).
    const active = document.activeElement;
    const focusId = active && this.gallery.contains(active) ? active.closest("[data-id]")?.dataset.id : null;
    const focusRole = active && active.dataset ? active.dataset.role : null;
    this.gallery.replaceChildren(...groups);
    if (focusId) {
      const again = this.gallery.querySelector(`[data-id="${CSS.escape(focusId)}"] [data-role="${focusRole}"]`);
      if (again) again.focus();
    }
  }

  more(label, name, n) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "ghost small";
    b.setAttribute("data-testid", `drawings-more-${label}`);
    b.textContent = `Show all ${n}`;
    b.setAttribute("aria-label", `Show all ${n} drawings labelled ${name}`);
    b.addEventListener("click", () => {
      this.expanded.add(label);
      this.renderGallery();
      // The focus goes to the first drawing that was hidden (the button is gone).
      const selects = this.gallery.querySelectorAll(`[data-testid=drawings-group-${label}] [data-role=relabel]`);
      const first = selects[PER_DIGIT];
      if (first) first.focus();
    });
    return b;
  }

  item(d) {
    const li = document.createElement("li");
    li.className = "drawing";
    li.dataset.id = d.id;
    li.setAttribute("data-testid", "drawing");
    const img = document.createElement("img");
    img.src = imageUrl(d.id);
    img.alt = `Your drawing labelled ${this.name(d.label)}${d.source === "correction" ? " (a correction)" : ""}`;
    img.width = 56;
    img.height = 56;
    img.loading = "lazy";
    img.decoding = "async";
    const sel = document.createElement("select");
    sel.dataset.role = "relabel";
    sel.setAttribute("data-testid", "drawing-relabel");
    sel.setAttribute("aria-label", `Label of this drawing (now ${this.name(d.label)})`);
    sel.append(...this.names.map((name, i) => {
      const o = document.createElement("option");
      o.value = String(i);
      o.textContent = name;
      return o;
    }));
    sel.value = String(d.label);
    // Arrow keys on a closed select change it one step at a time: only where it stops counts.
    let timer = null;
    sel.addEventListener("change", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (Number(sel.value) !== d.label) this.relabel(d, Number(sel.value), sel);
      }, RELABEL_SETTLE_MS);
    });
    const del = document.createElement("button");
    del.type = "button";
    del.className = "ghost small";
    del.dataset.role = "delete";
    del.setAttribute("data-testid", "drawing-delete");
    del.setAttribute("aria-label", `Delete this drawing of ${aDigit(this.name(d.label))}`);
    del.textContent = "Delete";
    del.addEventListener("click", () => this.remove(d, del));
    li.append(img, sel, del);
    return li;
  }

  async relabel(d, label, sel) {
    // Busy, not disabled: disabling the focused select would drop the keyboard's focus.
    sel.setAttribute("aria-busy", "true");
    try {
      await drawings.relabel(d.id, label);
      this.say(`Relabelled as ${aDigit(this.name(label))}.`);
    } catch (err) {
      sel.value = String(d.label);
      this.say(`Not relabelled: ${describeError(err)}`);
    } finally {
      sel.removeAttribute("aria-busy");
    }
  }

  async remove(d, button) {
    button.disabled = true;
    // The focus goes to the next drawing's Delete (or the previous one's) rather than the page.
    const li = button.closest("li");
    const next = li.nextElementSibling || li.previousElementSibling;
    const nextId = next ? next.dataset.id : null;
    try {
      await drawings.remove(d.id);
      this.say(`Deleted a drawing of ${aDigit(this.name(d.label))}.`);
      const target = nextId && this.gallery.querySelector(`[data-id="${CSS.escape(nextId)}"] [data-role=delete]`);
      (target || this.importButton).focus();
    } catch (err) {
      button.disabled = false;
      this.say(`Not deleted: ${describeError(err)}`);
    }
  }

  async upload() {
    const file = this.file.files && this.file.files[0];
    if (!file) return;
    this.errors.replaceChildren();
    this.errors.hidden = true;
    this.progress.hidden = false;
    this.progress.value = 0;
    this.importButton.disabled = true;
    this.say(`Uploading ${file.name}…`);
    try {
      const res = await drawings.importZip(file, (f) => {
        this.progress.value = f;
        if (f >= 1) this.say(`Checking ${file.name}…`);
      });
      this.say(`Imported ${res.imported} drawing${res.imported === 1 ? "" : "s"}.`);
    } catch (err) {
      this.refused(err);
    } finally {
      this.progress.hidden = true;
      this.importButton.disabled = Boolean(drawings.blocked);
      this.file.value = ""; // the same file again is a new choice
    }
  }

  /** A refused import: the server's sentence, and each bad row on its own line. */
  refused(err) {
    if (!(err instanceof ImportError)) {
      this.say(`Nothing imported: ${describeError(err)}`);
      return;
    }
    const rows = err.errors;
    this.say(rows.length
      ? `Nothing imported: ${rows.length} row${rows.length === 1 ? " is" : "s are"} wrong. Fix ${rows.length === 1 ? "it" : "them"} and import the zip again.`
      : `Nothing imported: ${err.message}`);
    const items = rows.slice(0, ERRORS_SHOWN).map((r) => {
      const li = document.createElement("li");
      li.setAttribute("data-testid", "drawings-error");
      const row = r.row !== undefined && r.row !== null;
      const where = row ? `Row ${r.row}${r.file ? ` (${r.file})` : ""}` : r.file || "The zip";
      li.textContent = `${where}: ${r.error}`;
      return li;
    });
    if (rows.length > ERRORS_SHOWN) {
      const li = document.createElement("li");
      li.textContent = `…and ${rows.length - ERRORS_SHOWN} more.`;
      items.push(li);
    }
    this.errors.replaceChildren(...items);
    this.errors.hidden = !items.length;
  }

  say(text) {
    this.status.textContent = text;
  }
}
