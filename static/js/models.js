// The model select: the shipped and saved models (and the run being trained), the info line
// under it, and each model's weights (fetched once: a model's weights never change). The list
// follows what others do (a model saved, shared, renamed or deleted in another tab or by
// another learner or the teacher): it is read again every POLL_MS while the page is visible,
// and at once when the page comes back into view; the select is redrawn only when it changed.

import { describeError, get } from "./api.js";
import { count, pct } from "./fmt.js";
import { othersRun, whoami } from "./identity.js";
import { mayUse } from "./model-controls.js";
import { runStatus, state } from "./state.js";
import { loadedVocabulary, sizesFor } from "./vocab.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 5000; // a model saved elsewhere shows up within this (one small GET per tick)

export class ModelPicker {
  /** on: {message(text), modelChosen(id, info), runChosen(sizes, cfg), network(id, net),
   * updated(info | null): a poll found the selected model changed (renamed, (un)shared) or
   * gone (null)} */
  constructor(on) {
    this.on = on;
    this.networks = new Map(); // model id → NetworkJSON
    this.seen = ""; // the last list read, as JSON: a poll that finds the same redraws nothing
    this.polling = false;
    $("model-select").addEventListener("change", (e) => this.select(e.target.value));
    setInterval(() => {
      if (document.visibilityState === "visible") this.poll();
    }, POLL_MS);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.poll();
    });
  }

  async load() {
    try {
      this.take((await get("/api/models")).models || []);
    } catch (err) {
      this.on.message(`Couldn't load the models: ${describeError(err)}`);
    }
    this.fill();
  }

  /** Read the list again; redraw only what changed (a failure waits for the next tick: the
   * banner tells of a server that can't be reached). */
  async poll() {
    if (this.polling) return;
    this.polling = true;
    try {
      const models = (await get("/api/models")).models || [];
      if (JSON.stringify(models) === this.seen) return;
      this.take(models);
      this.fill();
      const s = state.selected;
      if (s && s.kind === "model" && this.on.updated) {
        // Its new name or sharing; null when it is no longer offered (deleted, unshared).
        const info = state.models.find((m) => m.id === s.id);
        this.on.updated(info && mayUse(info) ? info : null);
      }
    } catch {
      // unreachable or refused: the next tick tries again
    } finally {
      this.polling = false;
    }
  }

  take(models) {
    this.seen = JSON.stringify(models);
    state.models = models;
  }

  /** The ids of the models this page may pick (the server answers 403 for the others). */
  ids() {
    return state.models.filter((m) => m.shipped || mayUse(m)).map((m) => m.id);
  }

  fill() {
    const sel = $("model-select");
    const prev = sel.value;
    sel.replaceChildren();
    const group = (label, items) => {
      if (!items.length) return;
      const g = document.createElement("optgroup");
      g.label = label;
      for (const [value, text] of items) {
        const o = document.createElement("option");
        o.value = value;
        o.textContent = text;
        g.append(o);
      }
      sel.append(g);
    };
    const label = (m) => `${m.name || m.id} · ${(m.sizes || []).join("-")}${datasetNote(m)}${ownerNote(m)}`;
    group("Shipped", state.models.filter((m) => m.shipped).map((m) => [m.id, label(m)]));
    // Someone else's unshared model is not offered: the server would answer 403 (issue 16).
    const saved = state.models.filter((m) => !m.shipped && mayUse(m));
    group("Saved", saved.map((m) => [m.id, label(m)]));
    const run = state.run;
    if (run) group("Training", [[`run:${run.id}`, `training run ${run.id} (${run.info.status})`]]);
    const s = state.selected;
    const want = s ? (s.kind === "run" ? `run:${s.id}` : s.id) : prev;
    if (want && [...sel.options].some((o) => o.value === want)) sel.value = want;
    // The selected model is no longer offered (deleted, or no longer shared): none shows as
    // picked, so that picking any model, the first one too, is a change.
    else if (s && s.kind === "model") sel.selectedIndex = -1;
  }

  async select(value) {
    const sel = $("model-select");
    if (sel.value !== value) sel.value = value;
    if (value.startsWith("run:")) {
      state.selected = { kind: "run", id: value.slice(4) };
      const cfg = state.run && state.run.info && state.run.info.config;
      const sizes = sizesFor(cfg && cfg.layers);
      const training = state.run && ["running", "paused"].includes(runStatus());
      const lead = training || !state.run
        ? "The run that is training: the drawing is re-checked after each update."
        : `Run ${state.run.id} (${runStatus()}): the drawing is checked by its latest weights.`;
      $("model-info").textContent = `${lead}${sizes ? ` ${sizes.join("-")} · ${cfg.activation}` : ""}`;
      this.on.runChosen(sizes, cfg);
      return;
    }
    state.selected = { kind: "model", id: value };
    const m = state.models.find((x) => x.id === value);
    if (m) {
      const acc = m.test_accuracy !== null && m.test_accuracy !== undefined ? ` · test accuracy ${pct(m.test_accuracy, 1)}` : "";
      $("model-info").textContent = `${(m.sizes || []).join("-")} · ${m.activation} · ${m.cost} · ${count(m.parameters)} parameters${acc}`;
    }
    this.on.modelChosen(value, m);
    try {
      let net = this.networks.get(value);
      if (!net) {
        net = await get(`/api/models/${encodeURIComponent(value)}/network`);
        this.networks.set(value, net);
      }
      if (state.selected.kind === "model" && state.selected.id === value) this.on.network(value, net);
    } catch (err) {
      this.on.message(`Couldn't load the model's weights: ${describeError(err)}`);
    }
  }
}

/** " · by curious-heron" after the name of another learner's model (class mode). */
function ownerNote(m) {
  const me = whoami();
  return me && me.class_mode && othersRun(m, me) ? ` · by ${m.owner_name || "another learner"}` : "";
}

/** " · Fashion-MNIST" after the name of a model not trained on MNIST (issue 17 §3). */
function datasetNote(m) {
  if (!m.dataset || m.dataset === "mnist") return "";
  const vocab = loadedVocabulary();
  const entry = vocab && (vocab.datasets || []).find((d) => d.name === m.dataset);
  return ` · ${entry ? entry.title : m.dataset}`;
}
