// The train panel's fields for training on drawings (issue 17 §2): what to train on (`data`:
// the dataset, the drawings or a mix), the share of each mix batch drawn from the drawings, whose
// drawings (`drawings_pool`: mine, or the class dataset the teacher pooled) and the model to
// continue from (`from_model`; its layers, activation and cost are then the model's, so those
// fields are locked). The choices come from the server's vocabulary; a server without them
// hides the fields. train-panel.js owns the form and asks here for these four.

import { label } from "./vocab.js";

export const KEYS = ["data", "drawings_fraction", "drawings_pool", "from_model"];
// Display names (a value the server adds later shows as itself).
const NAMES = {
  mnist: "dataset only",
  drawings: "drawings only",
  mix: "a mix of both",
  mine: "mine",
  class: "the class's",
};
const ARCHITECTURE = ["layers", "activation", "cost"]; // the model's, when continuing from one
const $ = (id) => document.getElementById(id);
const name = (v) => NAMES[v] || label(v);

export class DrawingsFields {
  /** fillSelect(select, [[value, text], ...]): train-panel's way of filling its selects. */
  constructor(fillSelect) {
    this.fill = fillSelect;
    this.available = false;
    this.classCount = 0;
    this.fieldEls = KEYS.map((k) => $(`f-${k}`).closest(".field"));
    for (const k of ["data", "from_model"]) $(`f-${k}`).addEventListener("change", () => this.sync());
  }

  /** The server's choices for `data` and `drawings_pool` (absent: fields hidden). */
  setChoices(choices) {
    this.available = Array.isArray(choices.data) && Array.isArray(choices.drawings_pool);
    if (this.available) {
      this.fill($("f-data"), choices.data.map((v) => [v, name(v)]));
      this.fill($("f-drawings_pool"), choices.drawings_pool.map((v) => [v, name(v)]));
      this.setClassCount(this.classCount);
    }
    this.sync();
  }

  /** The models a run may continue from ({id, label} each); "" starts from fresh weights. */
  setModels(models) {
    this.fill($("f-from_model"), [["", "fresh weights"], ...models.map((m) => [m.id, m.label])]);
    this.sync();
  }

  /** The class dataset's size (class mode): "the class's" is offered only when it has some. */
  setClassCount(n) {
    this.classCount = n;
    const opt = [...$("f-drawings_pool").options].find((o) => o.value === "class");
    if (!opt) return;
    opt.disabled = !n;
    opt.textContent = n ? `${name("class")} (${n} drawings)` : `${name("class")} (none pooled yet)`;
    if (!n && $("f-drawings_pool").value === "class") $("f-drawings_pool").value = "mine";
  }

  /** Show the fields that apply: the share only for a mix, the pool unless MNIST only; lock
   * the architecture while continuing from a model. */
  sync() {
    const data = $("f-data").value;
    this.fieldEls.forEach((el, i) => {
      const k = KEYS[i];
      let show = this.available;
      if (k === "drawings_fraction") show &&= data === "mix";
      if (k === "drawings_pool") show &&= data === "mix" || data === "drawings";
      el.hidden = !show;
    });
    const from = this.available && $("f-from_model").value;
    for (const f of ARCHITECTURE) {
      const el = $(`f-${f}`);
      el.disabled = Boolean(from);
      el.title = from ? `Continuing from ${from}: the network's ${f === "layers" ? "layers are" : `${f} is`} the model's` : "";
    }
    $("hint-from_model").textContent = from ? "its layers, activation and cost come with it" : "";
  }

  /** Their values, normalised as train-panel's formValues() (null: not set). */
  values() {
    if (!this.available) return {};
    const frac = $("f-drawings_fraction").value.trim();
    return {
      data: $("f-data").value || null,
      drawings_fraction: frac === "" ? null : Number(frac),
      drawings_pool: $("f-drawings_pool").value || null,
      from_model: $("f-from_model").value || null,
    };
  }

  /** Put a config's values in the fields. */
  show(cfg) {
    if (!this.available) return;
    for (const k of ["data", "drawings_pool", "drawings_fraction"]) {
      if (cfg[k] !== undefined && cfg[k] !== null) $(`f-${k}`).value = cfg[k];
    }
    const from = cfg.from_model ?? "";
    // A model no longer offered (deleted, unshared) shows as itself rather than as "nothing".
    if (from && ![...$("f-from_model").options].some((o) => o.value === from)) {
      const o = document.createElement("option");
      o.value = from;
      o.textContent = from;
      $("f-from_model").append(o);
    }
    $("f-from_model").value = from;
    this.sync();
  }

  /** Add these fields to a run's config; false (with a message) when one can't be sent. */
  write(cfg, setError) {
    if (!this.available) return true;
    const v = this.values();
    cfg.data = v.data || undefined;
    if (v.data === "mix") {
      if (v.drawings_fraction === null) {
        setError("drawings_fraction", "Required");
        return false;
      }
      cfg.drawings_fraction = v.drawings_fraction;
    }
    if (v.data !== "mnist") cfg.drawings_pool = v.drawings_pool || undefined;
    cfg.from_model = v.from_model;
    if (v.from_model) for (const f of ARCHITECTURE) delete cfg[f];
    return true;
  }
}
