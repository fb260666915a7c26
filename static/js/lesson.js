// The guided lesson ("Learn"): twelve short steps through the video's ideas, each spotlighting
// the part of the live page it talks about and setting it up (a first-layer neuron's panel,
// the nudges view, the descent toy). A non-modal card (a bottom sheet on a phone) with Back,
// Next and Close, and keys while it has focus: ←/→ or PageUp/PageDown, Home/End, Esc closes.
// The step is kept in the URL (#learn=4, also read as ?learn=4) and in localStorage, so a
// reload or a link opens it there and "Learn" resumes where it was closed.

import { isPhone, place, plan } from "./lesson-place.js";
import { STEPS } from "./lesson-steps.js";
import { lessonStep, setLessonStep } from "./url-state.js";

const KEY = "nnp-lesson-step";
const SPOT = "lesson-spot";
const MOVES = { ArrowRight: 1, PageDown: 1, ArrowLeft: -1, PageUp: -1 };

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

const button = (text, testid, cls) => {
  const b = el("button", cls, text);
  b.type = "button";
  b.dataset.testid = testid;
  return b;
};

/** The step a URL asks for (#learn=N or ?learn=N), or null. */
function urlStep() {
  const n = lessonStep();
  return n === null ? null : clampStep(n);
}

const clampStep = (n) => Math.max(1, Math.min(STEPS.length, Math.round(n) || 1));

const setUrl = setLessonStep; // url-state.js owns the address

function remember(n) {
  try {
    localStorage.setItem(KEY, String(n));
  } catch {
    /* private mode: not remembered */
  }
}

function remembered() {
  try {
    return clampStep(Number(localStorage.getItem(KEY)));
  } catch {
    return 1;
  }
}

const reducedMotion = () => window.matchMedia("(prefers-reduced-motion: reduce)").matches;

export class Lesson {
  /**
   * page: {isEmpty(), model() → {sizes, activation, cost}, activations(layer) → number[] | null,
   * selectNeuron({layer, index})}; opener: the header's "Learn" button.
   */
  constructor(opener, page) {
    this.opener = opener;
    this.page = page;
    this.step = 0; // 0: closed
    this.targets = []; // the elements the step shows: its subject and its controls
    this.where = null; // where the card goes (lesson-place.js plan())
    this.frame = 0;
    this.wantNeuron = false; // re-pick the neuron once the asked-for drawing is answered
    this.build();
    opener.setAttribute("aria-controls", this.card.id);
    opener.setAttribute("aria-expanded", "false");
    opener.addEventListener("click", () => (this.step ? this.close() : this.go(remembered(), true)));
    window.addEventListener("hashchange", () => {
      const n = urlStep();
      if (n && n !== this.step) this.go(n);
    });
    // While the lesson is open, Esc closes it wherever focus is (before the page's own Esc,
    // which clears the drawing).
    window.addEventListener("keydown", (e) => {
      if (e.key !== "Escape" || !this.step || e.altKey || e.ctrlKey || e.metaKey) return;
      e.preventDefault();
      e.stopPropagation();
      this.close();
    }, true);
    window.addEventListener("scroll", () => this.schedule(), { passive: true });
    window.addEventListener("resize", () => this.replan());
    // A panel of the step grew or shrank (its numbers arrived): plan again, scrolling if the
    // subject left the view.
    this.observer = new ResizeObserver(() => this.schedule(true));
    // The page or the card changed size: the card follows its subject.
    this.follower = new ResizeObserver(() => this.schedule());
  }

  build() {
    const card = el("aside", "lesson-card");
    card.id = "lesson";
    card.dataset.testid = "lesson";
    card.setAttribute("role", "dialog");
    card.setAttribute("aria-labelledby", "lesson-title");
    card.tabIndex = -1;
    card.hidden = true;
    const head = el("div", "lesson-head");
    this.count = el("span", "lesson-count");
    this.count.dataset.testid = "lesson-count";
    const close = button("✕", "lesson-close", "ghost lesson-close");
    close.setAttribute("aria-label", "Close the lesson");
    head.append(this.count, close);
    const body = el("div", "lesson-body");
    body.setAttribute("aria-live", "polite");
    body.setAttribute("aria-atomic", "true");
    this.title = el("h2", "lesson-title");
    this.title.id = "lesson-title";
    this.text = el("p", "lesson-text");
    this.text.dataset.testid = "lesson-text";
    body.append(this.title, this.text);
    this.need = el("p", "lesson-need small", "This step uses a drawing: draw one on the pad, or ");
    const draw = button("draw a digit for me", "lesson-draw", "lesson-draw");
    this.need.append(draw);
    card.append(head, body, this.need, this.nav(), el("p", "lesson-keys muted small", "← → or Page Up / Down: steps · Esc: close"));
    close.addEventListener("click", () => this.close());
    draw.addEventListener("click", () => this.drawForMe());
    card.addEventListener("keydown", (e) => this.onKey(e));
    this.card = card;
    document.body.append(card);
  }

  nav() {
    const nav = el("div", "lesson-nav");
    this.back = button("← Back", "lesson-back");
    this.next = button("Next →", "lesson-next", "primary");
    this.dots = el("ol", "lesson-dots");
    STEPS.forEach((s, i) => {
      const li = el("li");
      const dot = button("", `lesson-dot-${i + 1}`, "lesson-dot");
      dot.tabIndex = -1; // the keys move between steps; the dots are for pointers
      dot.setAttribute("aria-label", `Step ${i + 1}: ${s.title}`);
      dot.addEventListener("click", () => this.go(i + 1));
      li.append(dot);
      this.dots.append(li);
    });
    this.back.addEventListener("click", () => this.go(this.step - 1));
    this.next.addEventListener("click", () => (this.step === STEPS.length ? this.finish() : this.go(this.step + 1)));
    nav.append(this.back, this.dots, this.next);
    return nav;
  }

  /** Open the lesson at the URL's step, if the page was opened with one. */
  resume() {
    const n = urlStep();
    if (n) this.go(n, true);
  }

  /** Show step n (1-based): its text, its setup on the page, its spotlight and the scroll. */
  go(n, focus = false) {
    n = clampStep(n);
    const had = this.card.contains(document.activeElement);
    this.step = n;
    this.card.hidden = false;
    this.opener.setAttribute("aria-expanded", "true");
    setUrl(n);
    remember(n);
    const step = STEPS[n - 1];
    this.where = null; // planned once the step's panels have laid themselves out
    this.enter(step);
    this.render();
    this.spot(step.target.map((s) => document.querySelector(s)).filter(Boolean));
    if (focus || (had && !this.card.contains(document.activeElement))) this.card.focus({ preventScroll: true });
    // Let the panels the step opened lay themselves out before measuring where things are.
    requestAnimationFrame(() => requestAnimationFrame(() => this.scrollToTarget(n)));
  }

  enter(step) {
    if (step.mode) {
      const radio = document.querySelector(`input[name=net-mode][value=${step.mode}]`);
      if (radio && !radio.checked) {
        radio.click();
        this.setMode = step.mode !== "activations"; // the lesson switched the view away
      }
    }
    if (step.neuron) this.pickNeuron();
    for (const sel of step.open || []) {
      const details = document.querySelector(sel);
      if (details) details.open = true;
    }
  }

  /** Open the panel of the first hidden layer's most active neuron (neuron 0 without a drawing). */
  pickNeuron() {
    const a = this.page.isEmpty() ? null : this.page.activations(1);
    let best = 0;
    if (a) for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
    this.wantNeuron = !a;
    this.page.selectNeuron({ layer: 1, index: best });
  }

  render() {
    const step = STEPS[this.step - 1];
    this.count.textContent = `Step ${this.step} / ${STEPS.length}`;
    const parts = step.text(this.page.model());
    const key = parts.map((p) => (typeof p === "string" ? p : p.strong)).join("");
    if (key !== this.shownText) {
      this.shownText = key;
      this.title.textContent = step.title;
      this.text.replaceChildren(...parts.map((p) => (typeof p === "string" ? p : strong(p))));
    }
    this.need.hidden = !(step.drawing && this.page.isEmpty());
    this.back.disabled = this.step === 1;
    this.next.textContent = this.step === STEPS.length ? "Finish" : "Next →";
    [...this.dots.querySelectorAll("button")].forEach((b, i) => {
      if (i + 1 === this.step) b.setAttribute("aria-current", "step");
      else b.removeAttribute("aria-current");
    });
  }

  /** Spotlight `targets` (in page order: the first one dims the page, the rest are ringed
   * above its shadow). */
  spot(targets) {
    for (const t of this.targets) t.classList.remove(SPOT, `${SPOT}-more`);
    this.observer.disconnect();
    this.follower.disconnect();
    const order = (a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1);
    this.targets = [...targets].sort(order);
    if (!this.targets.length) return;
    this.targets.forEach((t, i) => t.classList.add(SPOT, ...(i ? [`${SPOT}-more`] : [])));
    for (const t of this.targets) this.observer.observe(t);
    this.follower.observe(document.body);
    this.follower.observe(this.card);
  }

  /** The elements the card must leave in view: the step's `focus` parts of its spotlit
   * elements (found afresh: a panel may have re-rendered them), else the elements themselves. */
  subjects() {
    const step = STEPS[this.step - 1];
    if (!step || !step.focus) return this.targets;
    const found = step.focus.map((s) => document.querySelector(s)).filter(Boolean);
    return found.length ? found : this.targets;
  }

  scrollToTarget(n) {
    if (this.step !== n || !this.targets.length) return;
    this.sheetRoom();
    this.where = plan(this.subjects(), this.card);
    const { scrollTop } = this.where;
    if (scrollTop !== null && Math.abs(scrollTop - window.scrollY) > 1) {
      window.scrollTo({ top: scrollTop, behavior: reducedMotion() ? "auto" : "smooth" });
    }
    place(this.card, this.subjects(), this.where);
  }

  /** On a phone, room under the page for the bottom sheet, so the page's end can scroll above it. */
  sheetRoom() {
    document.body.style.paddingBottom = this.step && isPhone() ? `${this.card.offsetHeight}px` : "";
  }

  /** Follow the subject on the next frame; again = plan afresh (its size changed). */
  schedule(again = false) {
    this.again = this.again || again;
    if (!this.step || !this.where || this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const replan = this.again;
      this.again = false;
      if (!this.step || !this.where) return;
      if (replan) this.scrollToTarget(this.step);
      else place(this.card, this.subjects(), this.where);
    });
  }

  replan() {
    if (!this.step || !this.targets.length) return;
    this.sheetRoom();
    this.where = plan(this.subjects(), this.card);
    place(this.card, this.subjects(), this.where);
  }

  /** The drawing, the model or its numbers changed: refresh what the step says. */
  update() {
    if (!this.step) return;
    this.render();
    if (this.wantNeuron && STEPS[this.step - 1].neuron && !this.page.isEmpty() && this.page.activations(1)) {
      this.pickNeuron();
    }
    this.schedule();
  }

  drawForMe() {
    this.wantNeuron = Boolean(STEPS[this.step - 1].neuron);
    document.getElementById("random-digit").click();
    this.card.focus({ preventScroll: true });
  }

  onKey(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const move = MOVES[e.key];
    let to = null;
    if (move) to = this.step + move;
    else if (e.key === "Home") to = 1;
    else if (e.key === "End") to = STEPS.length;
    if (to !== null) {
      e.preventDefault();
      e.stopPropagation();
      if (to >= 1 && to <= STEPS.length && to !== this.step) this.go(to);
    }
  }

  finish() {
    this.close();
    remember(1); // finished: "Learn" starts again from the first step
  }

  close() {
    if (!this.step) return;
    const had = this.card.contains(document.activeElement);
    this.step = 0;
    this.where = null;
    this.shownText = null;
    this.spot([]);
    if (this.setMode) {
      // The lesson put the network view in nudges mode: leave the page as the learner had it.
      this.setMode = false;
      const radio = document.querySelector("input[name=net-mode][value=activations]");
      if (radio && !radio.checked) radio.click();
    }
    this.card.hidden = true;
    document.body.style.paddingBottom = "";
    this.opener.setAttribute("aria-expanded", "false");
    setUrl(0);
    if (had) this.opener.focus();
  }
}

function strong(p) {
  const s = el("strong", "num", p.strong);
  if (p.testid) s.dataset.testid = p.testid;
  return s;
}
