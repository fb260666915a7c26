// Who this page is (GET /api/me): the learner's id, name, whether they are the teacher and
// whether the server runs in class mode; whether they may control a run (its owner or the
// teacher: the server decides, the page only shows disabled controls with the reason); and the
// learner's name chip with rename (PATCH /api/me) and a bearer token for scripts
// (POST /api/me/token), shown only in class mode. Names are
// user-controlled text: always textContent.

import { ApiError, describeError, get, patch, post } from "./api.js";

// A server without /api/me (before class mode existed) has one user, the teacher of it.
const SOLO = Object.freeze({ id: null, name: "", is_teacher: true, class_mode: false });

let loading = null;
let known = null; // the last answer, for code that cannot wait

/** The caller's identity {id, name, is_teacher, class_mode}, fetched once. Without /api/me
 * (404/405) or unreachable: SOLO (a failure other than 404 is asked again next time). */
export function me() {
  if (!loading) {
    loading = get("/api/me")
      .then((m) => (known = { ...SOLO, ...m }))
      .catch((err) => {
        const missing = err instanceof ApiError && (err.status === 404 || err.status === 405);
        if (!missing) loading = null;
        known = known || SOLO;
        return known;
      });
  }
  return loading;
}

/** The identity if it has loaded, else null. */
export const whoami = () => known;

/** Whether `info` (a RunInfo or ModelInfo) belongs to someone else (a run without `owner`:
 * nobody's in particular, so not). */
export function othersRun(info, m = known) {
  if (!m || !info || m.id === null || m.id === undefined) return false;
  return info.owner !== undefined && info.owner !== null && info.owner !== m.id;
}

/** Why this page may not control the run `info` (null: it may: its owner or the teacher). */
export function controlBlock(info, m = known) {
  if (!m || m.is_teacher || !othersRun(info, m)) return null;
  const who = info.owner_name ? `${info.owner_name}’s run` : "another learner’s run";
  return `This is ${who}: only its owner or the teacher can control it. You can watch it.`;
}

/** The name chip in the header: the learner's name and a rename form (class mode only). */
export class NameChip {
  constructor(root) {
    this.root = root;
    this.name = root.querySelector("[data-testid=me-name]");
    this.form = root.querySelector("form");
    this.input = this.form.querySelector("input");
    this.error = root.querySelector("[data-testid=me-error]");
    this.renameButton = root.querySelector("[data-testid=me-rename]");
    this.renameButton.addEventListener("click", () => this.edit(true));
    this.form.querySelector("[data-action=cancel]").addEventListener("click", () => this.edit(false));
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.save();
    });
    this.tokenBox = root.querySelector("[data-testid=me-token-box]");
    this.tokenValue = root.querySelector("[data-testid=me-token-value]");
    root.querySelector("[data-testid=me-token]").addEventListener("click", () => this.token());
  }

  /** A new bearer token for API clients, shown once (the server keeps only its hash). */
  async token() {
    this.error.textContent = "";
    try {
      const { token } = await post("/api/me/token");
      this.tokenValue.value = token;
      this.tokenBox.hidden = false;
      this.tokenValue.focus();
      this.tokenValue.select();
    } catch (err) {
      this.error.textContent = describeError(err);
    }
  }

  async load() {
    const m = await me();
    this.root.hidden = !m.class_mode;
    this.show(m);
  }

  show(m) {
    this.name.textContent = m.name || "";
    this.root.dataset.teacher = String(Boolean(m.is_teacher));
    this.renameButton.setAttribute("aria-label", `Rename yourself (now ${m.name || "unnamed"})`);
  }

  edit(on) {
    this.form.hidden = !on;
    this.renameButton.hidden = on;
    this.error.textContent = "";
    if (on) {
      this.input.value = this.name.textContent;
      this.input.focus();
      this.input.select();
    }
  }

  async save() {
    this.error.textContent = "";
    try {
      const m = await patch("/api/me", { name: this.input.value });
      known = { ...SOLO, ...m };
      loading = Promise.resolve(known);
      this.show(known);
      this.edit(false);
    } catch (err) {
      this.error.textContent = describeError(err);
      this.input.setAttribute("aria-invalid", "true");
      return;
    }
    this.input.setAttribute("aria-invalid", "false");
  }
}

/** Disable a run's controls (all but Start) with the reason while the page may not control
 * `info`, and say why in `note`; give them back (their own titles too) once it may. */
export function lockRunControls(controls, info, note) {
  const why = controlBlock(info);
  for (const el of controls) {
    if (!("title0" in el.dataset)) el.dataset.title0 = el.title || "";
    if (why) {
      el.disabled = true;
      el.title = why;
    } else if (el.title === el.dataset.lockedBy) {
      el.title = el.dataset.title0;
    }
    el.dataset.lockedBy = why || "";
  }
  note.textContent = why || "";
  note.hidden = !why;
}
