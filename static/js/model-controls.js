// The selected model's owner and, for a model this page may manage (its owner's or, for the
// teacher, anyone's; never a shipped one), its controls: Shared (class mode: others may use
// it), Rename (inline) and Delete (asks first). The server decides (PATCH and DELETE
// /api/models/{id} answer 403 to anyone else); the page only offers what it would allow.
// Names are user-controlled text: always textContent.

import { ApiError, describeError, patch, request } from "./api.js";
import { whoami } from "./identity.js";

/** Whether the caller `me` may rename, share or delete model `m` (as the server checks). */
export function mayManage(m, me = whoami()) {
  if (!m || m.shipped || !me) return false;
  return Boolean(me.is_teacher) || (m.owner !== null && m.owner !== undefined && m.owner === me.id);
}

/** Whether the caller may pick `m` in the model select: the server answers 403 otherwise. */
export function mayUse(m, me = whoami()) {
  return Boolean(m.shipped || m.shared || m.default || !me || mayManage(m, me));
}

// A name the server refused, in plain words (FastAPI's "String should match pattern '^…'"
// says nothing to a learner).
const NAME_RULES = {
  string_pattern_mismatch: () => "A name can't start or end with a space, or hold control characters.",
  string_too_short: () => "A name can't be empty.",
  string_too_long: (e) => `A name can be at most ${(e.ctx && e.ctx.max_length) || 80} characters.`,
};

function nameError(err) {
  if (err instanceof ApiError && err.status === 422 && Array.isArray(err.detail)) {
    const words = err.detail.map((e) => (NAME_RULES[e.type] ? NAME_RULES[e.type](e) : null));
    if (words.every(Boolean)) return words.join(" ");
  }
  return describeError(err);
}

export class ModelControls {
  /** on: {changed(info): the model was renamed or (un)shared; deleted(id)} */
  constructor(root, on) {
    this.root = root;
    this.on = on;
    this.model = null;
    const q = (id) => root.querySelector(`[data-testid=${id}]`);
    this.owner = q("model-owner");
    this.badge = q("model-default");
    this.tools = root.querySelector(".model-tools");
    this.shared = q("model-shared");
    this.sharedLabel = this.shared.closest("label");
    this.renameButton = q("model-rename");
    this.form = root.querySelector("form");
    this.input = q("model-name-input");
    this.deleteButton = q("model-delete");
    this.confirm = root.querySelector(".model-confirm");
    this.confirmText = q("model-confirm-text");
    this.error = q("model-error");
    this.shared.addEventListener("change", () => this.save({ shared: this.shared.checked }));
    this.renameButton.addEventListener("click", () => this.edit(true));
    this.form.querySelector("[data-action=cancel]").addEventListener("click", () => this.edit(false, true));
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.save({ name: this.input.value });
    });
    // Escape backs out of a rename or a delete (and doesn't reach the page's "clear" key).
    this.form.addEventListener("keydown", (e) => this.escape(e, () => this.edit(false, true)));
    this.confirm.addEventListener("keydown", (e) => this.escape(e, () => this.asking(false, true)));
    this.deleteButton.addEventListener("click", () => this.asking(true));
    this.confirm.querySelector("[data-action=keep]").addEventListener("click", () => this.asking(false, true));
    q("model-delete-confirm").addEventListener("click", () => this.remove());
  }

  /** Show model `m` (a ModelInfo), or nothing (null: a run is selected). */
  show(m) {
    const same = m && this.model && m.id === this.model.id;
    this.model = m || null;
    this.root.hidden = !m;
    if (!m) return;
    const me = whoami();
    const classMode = Boolean(me && me.class_mode);
    this.owner.textContent = !classMode || m.shipped ? "" : m.owner === me.id ? "Yours" : `By ${m.owner_name || "another learner"}`;
    this.badge.hidden = !m.default;
    const manage = mayManage(m, me);
    this.tools.hidden = !manage;
    this.sharedLabel.hidden = !classMode;
    this.root.hidden = !manage && !this.owner.textContent && this.badge.hidden; // nothing to say
    this.shared.checked = Boolean(m.shared);
    const name = m.name || m.id;
    this.shared.setAttribute("aria-label", `Shared: others may use ${name}`);
    this.renameButton.setAttribute("aria-label", `Rename ${name}`);
    this.deleteButton.setAttribute("aria-label", `Delete ${name}`);
    if (!same) {
      this.edit(false);
      this.asking(false);
    }
  }

  escape(e, back) {
    if (e.key !== "Escape") return;
    e.stopPropagation();
    back();
  }

  /** Open or close the rename form; `refocus`: closing it, give the focus back to Rename. */
  edit(on, refocus = false) {
    this.form.hidden = !on;
    this.renameButton.hidden = on;
    this.error.textContent = "";
    this.input.setAttribute("aria-invalid", "false");
    if (on) {
      this.asking(false);
      this.input.value = this.model ? this.model.name || this.model.id : "";
      this.input.focus();
      this.input.select();
    } else if (refocus) {
      this.renameButton.focus();
    }
  }

  /** Ask "delete it for good?" or stop asking (`refocus`: the focus back to Delete). */
  asking(on, refocus = false) {
    this.confirm.hidden = !on;
    this.deleteButton.hidden = on;
    if (on) {
      this.edit(false);
      this.confirmText.textContent = `Delete ${this.model.name || this.model.id} for good?`;
      this.confirm.querySelector("[data-action=keep]").focus();
    } else if (refocus) {
      this.deleteButton.focus();
    }
  }

  async save(body) {
    const m = this.model;
    if (!m) return;
    this.error.textContent = "";
    try {
      const info = await patch(`/api/models/${encodeURIComponent(m.id)}`, body);
      if (body.name !== undefined) this.edit(false, true);
      this.show(info);
      this.on.changed(info);
    } catch (err) {
      if (body.shared !== undefined) this.shared.checked = Boolean(m.shared); // as it still is
      else this.input.setAttribute("aria-invalid", "true");
      this.error.textContent = body.name !== undefined ? nameError(err) : describeError(err);
    }
  }

  async remove() {
    const m = this.model;
    if (!m) return;
    this.error.textContent = "";
    try {
      await request("DELETE", `/api/models/${encodeURIComponent(m.id)}`);
    } catch (err) {
      this.error.textContent = `Couldn't delete it: ${describeError(err)}`;
      return;
    }
    this.asking(false);
    this.on.deleted(m.id);
  }
}
