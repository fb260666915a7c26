// Under the prediction (issue 17 §1): "Wrong? It's a [0]…[9]" stores the drawing on the pad
// with the label tapped (source "correction"), and "Keep as a labelled example" stores it with
// the network's answer (source "example"). Offered only for the learner's own drawing (not an
// MNIST test digit, not an empty pad) and only when the outputs are digits; disabled, with the
// reason, when the server won't keep drawings for this caller (class mode without an identity).
// A second tap for the same drawing relabels what was saved instead of saving it twice; Undo
// deletes it.

import { describeError } from "./api.js";
import { NO_IDENTITY, aDigit, drawings, labelNames } from "./drawings-api.js";

export class CorrectionBar {
  /** root: the bar's element; image(): the drawing's stroke image as a data: URL, or null when
   * the pad holds no drawing of the learner's own (empty, or only a test digit). */
  constructor(root, status, { image, saved }) {
    this.root = root;
    this.status = status;
    this.image = image;
    this.savedHook = saved || (() => {});
    this.digits = root.querySelector("[data-testid=correct-digits]");
    this.keep = root.querySelector("[data-testid=keep-example]");
    this.why = root.querySelector("[data-testid=correct-why]");
    this.text = status.querySelector("[data-testid=correct-text]");
    this.undoButton = status.querySelector("[data-testid=correct-undo]");
    this.predicted = null;
    this.saved = null; // the DrawingInfo saved for the drawing now on the pad
    this.busy = false;
    this.buttons = [];
    this.keep.addEventListener("click", () => this.store(this.predicted));
    this.undoButton.addEventListener("click", () => this.undo());
    drawings.subscribe(() => this.enable());
    labelNames().then((names) => this.build(names)).catch(() => {});
  }

  build(names) {
    this.names = names;
    this.buttons = names.map((name, i) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "small digit-button";
      b.textContent = name;
      b.dataset.label = String(i);
      b.setAttribute("data-testid", `correct-${i}`);
      b.addEventListener("click", () => this.store(i));
      return b;
    });
    this.digits.replaceChildren(...this.buttons);
    this.mark();
  }

  /** A prediction for the drawing on the pad is shown (digit: its answer); `digits`: whether
   * the outputs are digits (a Fashion-MNIST model's are not). */
  shown(digit, digits) {
    this.predicted = digit;
    this.root.hidden = !(digits && this.image());
    this.mark();
  }

  /** The drawing changed (or went): what was saved was the previous one. */
  changed() {
    this.saved = null;
    this.mark();
  }

  hide() {
    this.root.hidden = true;
    this.predicted = null;
  }

  mark() {
    const name = (i) => (this.names ? this.names[i] : String(i));
    this.buttons.forEach((b, i) => {
      const answer = i === this.predicted;
      const saved = this.saved && this.saved.label === i;
      b.classList.toggle("is-answer", answer);
      b.setAttribute("aria-pressed", String(Boolean(saved)));
      b.setAttribute("aria-label", `It's ${aDigit(name(i))}: save this drawing labelled ${name(i)}${answer ? " (the network's answer)" : ""}`);
    });
    const p = this.predicted;
    this.keep.textContent = p === null ? "Keep as a labelled example" : `Keep as a labelled example (${name(p)})`;
    this.enable();
  }

  /** Disabled, with the reason, while the server won't keep drawings for this caller. */
  enable() {
    const blocked = drawings.blocked;
    for (const b of [...this.buttons, this.keep]) {
      b.disabled = Boolean(blocked); // not while busy: that would drop the keyboard's focus
      b.title = blocked || "";
    }
    this.root.setAttribute("aria-busy", String(this.busy)); // store() ignores taps meanwhile
    this.why.textContent = blocked || "";
    this.why.hidden = !blocked;
  }

  async store(label) {
    if (label === null || label === undefined || this.busy) return;
    const image = this.image();
    if (!image) return;
    this.busy = true;
    this.enable();
    try {
      const name = this.names ? this.names[label] : String(label);
      const source = label === this.predicted ? "example" : "correction";
      if (this.saved) {
        this.saved = await drawings.relabel(this.saved.id, label);
      } else {
        this.saved = await drawings.add(image, label, source);
      }
      this.say(`Saved as ${aDigit(name)} · ${drawings.total} of your drawings`, true);
      this.savedHook(this.saved);
    } catch (err) {
      this.say(drawings.blocked ? NO_IDENTITY : `Not saved: ${describeError(err)}`, false);
    } finally {
      this.busy = false;
      this.mark();
    }
  }

  async undo() {
    const saved = this.saved || this.lastSaved;
    if (!saved) return;
    try {
      await drawings.remove(saved.id);
      this.saved = null;
      this.say(`Removed · ${drawings.total} of your drawings`, false);
    } catch (err) {
      this.say(`Couldn't remove it: ${describeError(err)}`, true);
    }
    this.mark();
  }

  say(text, undoable) {
    this.lastSaved = undoable ? this.saved : null;
    this.text.textContent = text;
    this.undoButton.hidden = !undoable;
    this.status.hidden = false;
  }
}
