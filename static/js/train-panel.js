// The training panel: the run's configuration form (filled from the server's presets), the
// Start/Pause/Resume/Step/Stop/Save buttons (enabled to match the run's status, so a click
// never asks for an impossible transition), the speed control, and the live numbers under them.
// The select choices and the status vocabulary come from the server (vocab.js).

import { ApiError, describeError, fieldOf, get } from "./api.js";
import { friendly } from "./messages.js";
import { duration, num, pct, rate, short } from "./fmt.js";
import { DrawingsFields, KEYS as DRAWING_KEYS } from "./drawings-fields.js";
import { runStatus, state } from "./state.js";
import { FLAGS } from "./url-state.js";
import { label, loadedVocabulary, vocabulary } from "./vocab.js";

const FIELDS = ["preset", "dataset", "layers", "activation", "cost", "optimizer", "lr_schedule", "learning_rate",
  "batch_size", "epochs", "train_subset", ...FLAGS, ...DRAWING_KEYS];
const CHOICES = ["dataset", "activation", "cost", "optimizer", "lr_schedule"];
const NUMBERS = ["learning_rate", "batch_size", "epochs"];
const CUSTOM = ""; // the preset select's value once the form differs from the chosen preset
const $ = (id) => document.getElementById(id);

export class TrainPanel {
  constructor(actions) {
    this.actions = actions;
    this.presets = {};
    this.base = null; // the preset the form started from (sent as the run's `preset`)
    this.limits = null;
    this.live = new Set(); // the server's live statuses, once the vocabulary is loaded
    this.lastProgress = null;
    this.drawings = new DrawingsFields(fillSelect); // data, drawings_fraction, drawings_pool, from_model
    this.buttons = {
      start: $("train-start"),
      pause: $("train-pause"),
      resume: $("train-resume"),
      step: $("train-step"),
      stop: $("train-stop"),
      save: $("train-save"),
    };
    for (const [name, btn] of Object.entries(this.buttons)) {
      btn.addEventListener("click", () => this.click(name));
    }
    $("f-preset").addEventListener("change", () => {
      const name = $("f-preset").value;
      if (name === CUSTOM) this.markPreset();
      else this.applyPreset(name);
    });
    $("train-form").addEventListener("submit", (e) => {
      e.preventDefault();
      if (!this.buttons.start.disabled) this.click("start");
    });
    // Any edit clears that field's old server message.
    for (const f of FIELDS) {
      const el = $(`f-${f}`);
      if (!el || f === "preset") continue;
      el.addEventListener("input", () => this.setError(f, ""));
      el.addEventListener("input", () => this.markPreset());
      el.addEventListener("change", () => this.markPreset());
    }
    this.suggest = $("run-suggest");
    this.suggest.addEventListener("click", () => {
      $("f-learning_rate").value = this.suggest.dataset.rate;
      this.setError("learning_rate", "");
      this.markPreset();
      this.suggestRate(null);
      $("f-learning_rate").focus();
    });
    this.speed = $("run-speed-select");
    this.speed.addEventListener("change", () => this.applySpeed());
    this.lr = $("live-lr");
    $("live-lr-apply").addEventListener("click", () => this.applyLiveLr());
    this.lr.addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.applyLiveLr();
    });
    this.text = {};
    this.setStatus();
  }

  async loadPresets() {
    try {
      const [data, vocab] = await Promise.all([get("/api/presets"), vocabulary()]);
      this.live = vocab.live;
      for (const f of CHOICES) fillSelect($(`f-${f}`), vocab.choices[f].map((v) => [v, label(v)]));
      // Datasets by their titles ("Fashion-MNIST"), from the server's registry (issue 17 §3).
      fillSelect($("f-dataset"), vocab.datasets.map((d) => [d.name, d.title]));
      this.drawings.setChoices(vocab.choices); // issue 17 §2
      this.limits = data.limits || null;
      for (const [name, cfg] of Object.entries(data)) {
        if (name !== "limits" && cfg && typeof cfg === "object") this.presets[name] = cfg;
      }
      const names = Object.keys(this.presets);
      fillSelect($("f-preset"), [...names.map((n) => [n, n]), [CUSTOM, "custom"]]);
      const first = this.presets["3b1b"] ? "3b1b" : names[0];
      if (first) this.applyPreset(first);
      this.showLimits();
      this.setStatus();
    } catch (err) {
      this.setError("form", `Couldn't load the presets: ${describeError(err)}`);
    }
  }

  showLimits() {
    const lim = this.limits;
    if (!lim) return;
    if (lim.max_epochs) $("f-epochs").max = lim.max_epochs;
    if (lim.max_batch_size) $("f-batch_size").max = lim.max_batch_size;
    if (lim.max_layers && lim.max_layer_size) {
      $("hint-layers").textContent = `sizes, comma-separated (≤ ${lim.max_layers} layers of ≤ ${lim.max_layer_size})`;
    }
  }

  applyPreset(name) {
    const cfg = this.presets[name];
    if (!cfg) return;
    this.base = name;
    this.fillForm(cfg);
    this.markPreset();
  }

  /** The preset select names the base preset while the form equals it, else "custom". */
  markPreset() {
    const sel = $("f-preset");
    const cfg = this.presets[this.base];
    const same = cfg && this.differences(cfg).length === 0;
    sel.value = same ? this.base : CUSTOM;
    this.set("hint-preset", !same && this.base ? `edited from ${this.base}` : "");
    sel.dataset.base = this.base || "";
    if (this.actions.changed) this.actions.changed(); // the page's address follows (url-state.js)
  }

  /** True when a run's config is its preset's, unedited (null: the presets aren't loaded). */
  isPreset(run) {
    const cfg = run && this.presets[run.preset];
    if (!cfg) return Object.keys(this.presets).length ? false : null;
    const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
    const drawings = this.drawings.available ? DRAWING_KEYS : [];
    return same(run.layers, cfg.layers) && FLAGS.every((f) => !!run[f] === !!cfg[f])
      && same(run.train_subset, cfg.train_subset) && [...CHOICES, ...NUMBERS, ...drawings].every((f) => same(run[f], cfg[f]));
  }

  /** The form fields whose values differ from `cfg`'s. */
  differences(cfg) {
    const form = this.formValues();
    const want = {
      layers: (cfg.layers || []).join(","),
      train_subset: cfg.train_subset ?? null,
    };
    for (const f of FLAGS) want[f] = !!cfg[f];
    for (const f of [...CHOICES, ...NUMBERS]) want[f] = cfg[f] ?? null;
    for (const f of Object.keys(this.drawings.values())) want[f] = cfg[f] ?? null;
    return Object.keys(want).filter((f) => form[f] !== want[f]);
  }

  /** The form's values, normalised for comparing (numbers as numbers, layers as "16,16"). */
  formValues() {
    const num = (f) => {
      const v = $(`f-${f}`).value.trim();
      return v === "" ? null : Number(v);
    };
    const values = {
      layers: $("f-layers").value.trim().split(/[\s,;x×]+/).filter(Boolean).map(Number).join(","),
      train_subset: num("train_subset"),
    };
    for (const f of FLAGS) values[f] = $(`f-${f}`).checked;
    for (const f of CHOICES) values[f] = $(`f-${f}`).value || null;
    for (const f of NUMBERS) values[f] = num(f);
    return { ...values, ...this.drawings.values() };
  }

  /** Put a TrainConfig's values in the form fields. */
  fillForm(cfg) {
    if (cfg.layers) $("f-layers").value = cfg.layers.join(", ");
    for (const f of [...CHOICES, ...NUMBERS]) {
      if (cfg[f] !== undefined && cfg[f] !== null) $(`f-${f}`).value = cfg[f];
    }
    for (const f of FLAGS) $(`f-${f}`).checked = !!cfg[f];
    $("f-train_subset").value = cfg.train_subset ?? "";
    this.drawings.show(cfg);
    this.clearErrors();
  }

  /** The form as a TrainConfig; null (with messages shown) when it can't be sent. */
  config() {
    this.clearErrors();
    // A "custom" form still starts from its base preset: the fields it doesn't show (momentum,
    // L2, ...) come from there, every shown one is sent explicitly.
    const cfg = { preset: this.base || undefined };
    const layersText = $("f-layers").value.trim();
    const layers = layersText ? layersText.split(/[\s,;x×]+/).filter(Boolean).map(Number) : [];
    if (layers.some((n) => !Number.isInteger(n) || n < 1)) {
      this.setError("layers", "Write whole numbers, e.g. 16, 16");
      return null;
    }
    cfg.layers = layers;
    for (const f of CHOICES) cfg[f] = $(`f-${f}`).value || undefined;
    // Numbers go to the server as typed: its validation messages are the ones to show.
    for (const f of NUMBERS) {
      const v = $(`f-${f}`).value.trim();
      if (v === "") {
        this.setError(f, "Required");
        return null;
      }
      cfg[f] = Number(v);
    }
    const sub = $("f-train_subset").value.trim();
    cfg.train_subset = sub === "" ? null : Number(sub);
    for (const f of FLAGS) cfg[f] = $(`f-${f}`).checked;
    if (!this.drawings.write(cfg, (f, msg) => this.setError(f, msg))) return null;
    return cfg;
  }

  /** The models a run may continue from: [{id, label}] (from_model, issue 17 §2). */
  setModels(models) {
    this.drawings.setModels(models);
  }

  /** The class dataset's size: its drawings can be picked only when there are some. */
  setClassDrawings(count) {
    this.drawings.setClassCount(count);
  }

  /** Show a watched run's resolved config in the form (e.g. after joining it). */
  showConfig(cfg) {
    if (!cfg) return;
    if (cfg.preset && this.presets[cfg.preset]) this.base = cfg.preset;
    this.fillForm(cfg);
    this.markPreset();
  }

  clearErrors() {
    for (const f of [...FIELDS, "form"]) this.setError(f, "");
  }

  setError(field, msg) {
    const el = $(`err-${field}`);
    if (!el) return false;
    el.textContent = msg;
    const input = $(`f-${field}`);
    if (input) input.setAttribute("aria-invalid", msg ? "true" : "false");
    return true;
  }

  /** Put a 422's messages next to their fields (FastAPI list form or a plain sentence). */
  showServerError(err) {
    if (err instanceof ApiError && Array.isArray(err.detail)) {
      const rest = [];
      for (const e of err.detail) {
        const f = fieldOf(e);
        if (!(f && this.setError(f, friendly(e, f)))) rest.push(friendly(e, f));
      }
      if (rest.length) this.setError("form", rest.join(" "));
      return;
    }
    const text = describeError(err);
    // A sentence that names a field ("learning_rate must be > 0") goes beside that field.
    const f = FIELDS.find((name) => new RegExp(`\\b${name}\\b`).test(text));
    if (f && f !== "preset") this.setError(f, text);
    else this.setError("form", text);
  }

  async click(name) {
    const btn = this.buttons[name];
    btn.disabled = true; // no double clicks while the request is out
    try {
      if (name === "start") {
        const cfg = this.config();
        if (!cfg) return;
        try {
          await this.actions.start(cfg);
        } catch (err) {
          this.showServerError(err);
        }
      } else {
        await this.actions[name]();
      }
    } catch (err) {
      this.actions.message(describeError(err));
    } finally {
      this.setStatus();
    }
  }

  async applyLiveLr() {
    const v = Number(this.lr.value);
    if (!(v > 0) || !Number.isFinite(v)) {
      this.actions.message("The learning rate must be a positive number.");
      return;
    }
    try {
      await this.actions.learningRate(v);
      this.actions.message(`Learning rate set to ${v}.`);
    } catch (err) {
      this.actions.message(describeError(err));
    }
  }

  async applySpeed() {
    const v = this.speed.value;
    try {
      const info = await this.actions.speed(v === "" ? null : Number(v));
      if (info) this.showSpeed(info.speed);
    } catch (err) {
      this.actions.message(describeError(err));
    }
  }

  /** Show a run's speed (null: full speed); a speed set elsewhere gets an option of its own. */
  showSpeed(speed) {
    const value = speed === null || speed === undefined ? "" : String(speed);
    if (![...this.speed.options].some((o) => o.value === value)) {
      const o = document.createElement("option");
      o.value = value;
      o.textContent = `${value} mini-batches/s`;
      this.speed.append(o);
    }
    this.speed.value = value;
  }

  /** Offer to put `rate` (a collapsed run's suggestion) in the form; null hides the offer. */
  suggestRate(rate) {
    this.suggest.hidden = rate === null;
    if (rate === null) return;
    this.suggest.dataset.rate = String(rate);
    this.suggest.textContent = `Use learning rate ${rate} in the form`;
  }

  /** "Waiting for a free slot: position N" while queued; hidden otherwise. */
  /** Where the run trains, in a learner's words; the process or Ray node in the tooltip
   * (null: not yet known). */
  showPlacement(placement) {
    const el = $("run-where");
    el.hidden = !placement;
    const where = placement && placement.node_id ? "on another machine of the server's cluster" : "on the server, beside this page";
    this.set("run-where", placement ? `Trains ${where} (your browser only watches) ⓘ` : "");
    el.title = placement ? `Trains in ${placement.description}` : "";
  }

  showQueue(position) {
    const el = $("run-queue");
    const queued = this.status === "queued";
    el.hidden = !queued;
    this.set("run-queue", queued ? `Waiting for a free slot: position ${position ?? "?"}` : "");
  }

  /** The watched run's status: the server's, kept in state.run (null: no run watched). */
  get status() {
    return runStatus();
  }

  /** Enable exactly the buttons that make sense for the run's status (none watched: idle). */
  setStatus() {
    const status = this.status;
    const hasRun = Boolean(state.run);
    const b = this.buttons;
    const active = this.live.has(status);
    // Start is always possible: a new run takes a free slot or waits in the queue, and the
    // page watches it from then on (another tab's run it joined carries on).
    b.start.disabled = false;
    b.start.title = active ? "Start another run and watch it (this one carries on)" : "";
    b.pause.disabled = status !== "running";
    b.resume.disabled = status !== "paused";
    b.step.disabled = status !== "paused";
    b.stop.disabled = !active;
    // Weights exist once training has begun (a failed or interrupted run has its checkpoint).
    b.save.disabled = !hasRun || !status || status === "queued" || status === "downloading";
    const lrLive = status === "running" || status === "paused";
    this.lr.disabled = !lrLive;
    $("live-lr-apply").disabled = !lrLive;
    this.speed.disabled = !active;
    this.set("run-status", status || "idle");
    $("run-status").dataset.status = status || "idle";
    if (status !== "queued") this.showQueue(null);
    if (this.lastProgress) this.showProgress(this.lastProgress);
    // Someone else's run: its controls stay disabled, with the reason (identity.js).
    if (this.actions.locked) this.actions.locked(this.buttons, [this.lr, $("live-lr-apply"), this.speed]);
  }

  /** textContent only when it changed: cheap DOM updates at 20 messages a second. */
  set(id, value) {
    if (this.text[id] === value) return;
    this.text[id] = value;
    $(id).textContent = value;
  }

  showProgress(progress) {
    if (!progress) return;
    this.lastProgress = progress;
    this.set("run-step", String(progress.step ?? 0));
    if (progress.epoch !== undefined && progress.epochs) {
      this.set("run-epoch", `${Math.min(progress.epochs, Math.floor(progress.epoch) + 1)} / ${progress.epochs}`);
    }
    const bar = $("epoch-progress");
    const frac = progress.fraction ?? 0;
    if (Math.abs(bar.value - frac) > 0.001) bar.value = frac;
    const eta = progress.eta_seconds;
    // The epoch's own progress only while it trains: an ended run has no epoch under way (and
    // the last epoch's 60.0 would otherwise read "epoch 0%").
    const running = this.status === "running";
    const lastDone = progress.epochs && progress.epoch >= progress.epochs;
    const epochFrac = progress.epoch !== undefined ? (lastDone ? 1 : progress.epoch - Math.floor(progress.epoch)) : null;
    let text = `${Math.round(frac * 100)}% of the run`;
    if (epochFrac !== null && running) text += ` · epoch ${Math.round(epochFrac * 100)}%`;
    if (eta !== null && eta !== undefined && this.status === "running") text += ` · ${duration(eta)} left`;
    this.set("epoch-text", text);
  }

  showLatest(latest) {
    if (!latest) return;
    if (latest.cost !== undefined && latest.cost !== null) this.set("run-cost", num(Number(latest.cost)));
    if (latest.batch_accuracy !== undefined && latest.batch_accuracy !== null) {
      this.set("run-acc", pct(latest.batch_accuracy, 1));
    }
    if (latest.samples_per_second) this.set("run-speed", rate(latest.samples_per_second));
    if (latest.learning_rate && document.activeElement !== this.lr && this.lr.dataset.shown !== String(latest.learning_rate)) {
      this.lr.value = short(latest.learning_rate); // 0.4998, not 0.4997818147357552
      this.lr.dataset.shown = String(latest.learning_rate);
    }
  }

  showTestAccuracy(acc) {
    this.set("run-test-acc", pct(acc, 2));
  }

  /** The accuracy on the run's held-out drawings (null: the run has none, and it hides). */
  showDrawingsAccuracy(acc) {
    const has = typeof acc === "number";
    $("run-drawings-box").hidden = !has;
    this.set("run-drawings-acc", has ? pct(acc, 1) : "–");
  }

  showDownload(done, total) {
    const block = $("download-block");
    if (done === null) {
      block.hidden = true;
      return;
    }
    block.hidden = false;
    // The watched run's dataset, by title: "Downloading Fashion-MNIST" (issue 17 §3).
    const cfg = state.run && state.run.info && state.run.info.config;
    const vocab = loadedVocabulary();
    const entry = cfg && vocab && vocab.datasets.find((d) => d.name === cfg.dataset);
    this.set("download-label", `Downloading ${entry ? entry.title : "MNIST"} (first use)`);
    const bar = $("download-progress");
    bar.value = total ? done / total : 0;
    const mb = (n) => `${short(n / 1e6, 3)} MB`;
    this.set("download-text", total ? `${mb(done)} of ${mb(total)}` : mb(done));
  }

  resetStats() {
    for (const id of ["run-epoch", "run-cost", "run-acc", "run-test-acc", "run-speed"]) this.set(id, "–");
    this.set("run-step", "0");
    this.showDrawingsAccuracy(null);
    this.set("epoch-text", "");
    $("epoch-progress").value = 0;
    this.lastProgress = null;
    this.showSpeed(null);
  }
}

/** Replace a select's options with [value, text] pairs, keeping its value when still offered. */
function fillSelect(sel, items) {
  const prev = sel.value;
  sel.replaceChildren(...items.map(([value, text]) => {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    return o;
  }));
  if (items.some(([v]) => v === prev)) sel.value = prev;
}
