// The training panel: the run's configuration form (filled from the server's presets), the
// Start/Pause/Resume/Step/Stop/Save buttons (enabled to match the run's status, so a click
// never asks for an impossible transition), and the live numbers under them.

import { ApiError, describeError, fieldOf, get } from "./api.js";

const FIELDS = ["preset", "layers", "activation", "cost", "optimizer", "learning_rate", "batch_size",
  "epochs", "train_subset", "augment"];
const ACTIVE = new Set(["queued", "downloading", "running", "paused"]);
const $ = (id) => document.getElementById(id);

export class TrainPanel {
  constructor(actions) {
    this.actions = actions;
    this.presets = {};
    this.limits = null;
    this.status = null;
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
    $("f-preset").addEventListener("change", () => this.applyPreset($("f-preset").value));
    $("train-form").addEventListener("submit", (e) => {
      e.preventDefault();
      if (!this.buttons.start.disabled) this.click("start");
    });
    // Any edit clears that field's old server message.
    for (const f of FIELDS) {
      const el = $(`f-${f}`);
      if (el) el.addEventListener("input", () => this.setError(f, ""));
    }
    this.lr = $("live-lr");
    $("live-lr-apply").addEventListener("click", () => this.applyLiveLr());
    this.lr.addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.applyLiveLr();
    });
    this.text = {};
    this.setStatus(null);
  }

  async loadPresets() {
    try {
      const data = await get("/api/presets");
      this.limits = data.limits || null;
      const sel = $("f-preset");
      sel.replaceChildren();
      for (const [name, cfg] of Object.entries(data)) {
        if (name === "limits" || !cfg || typeof cfg !== "object") continue;
        this.presets[name] = cfg;
        const o = document.createElement("option");
        o.value = name;
        o.textContent = name;
        sel.append(o);
      }
      const first = this.presets["3b1b"] ? "3b1b" : Object.keys(this.presets)[0];
      if (first) {
        sel.value = first;
        this.applyPreset(first);
      }
      if (this.limits) {
        if (this.limits.max_epochs) $("f-epochs").max = this.limits.max_epochs;
        if (this.limits.max_batch_size) $("f-batch_size").max = this.limits.max_batch_size;
        const hint = $("hint-layers");
        if (this.limits.max_layers && this.limits.max_layer_size) {
          hint.textContent = `sizes, comma-separated (≤ ${this.limits.max_layers} layers of ≤ ${this.limits.max_layer_size})`;
        }
      }
    } catch (err) {
      this.setError("form", `Couldn't load the presets: ${describeError(err)}`);
    }
  }

  applyPreset(name) {
    const cfg = this.presets[name];
    if (cfg) this.fillForm(cfg);
  }

  /** Put a TrainConfig's values in the form fields. */
  fillForm(cfg) {
    if (cfg.layers) $("f-layers").value = cfg.layers.join(", ");
    for (const f of ["activation", "cost", "optimizer", "learning_rate", "batch_size", "epochs"]) {
      if (cfg[f] !== undefined && cfg[f] !== null) $(`f-${f}`).value = cfg[f];
    }
    $("f-augment").checked = !!cfg.augment;
    $("f-train_subset").value = cfg.train_subset ?? "";
    this.clearErrors();
  }

  /** The form as a TrainConfig; null (with messages shown) when it can't be sent. */
  config() {
    this.clearErrors();
    const cfg = { preset: $("f-preset").value || undefined };
    const layersText = $("f-layers").value.trim();
    const layers = layersText ? layersText.split(/[\s,;x×]+/).filter(Boolean).map(Number) : [];
    if (layers.some((n) => !Number.isInteger(n) || n < 1)) {
      this.setError("layers", "Write whole numbers, e.g. 16, 16");
      return null;
    }
    cfg.layers = layers;
    cfg.activation = $("f-activation").value;
    cfg.cost = $("f-cost").value;
    cfg.optimizer = $("f-optimizer").value;
    // Numbers go to the server as typed: its validation messages are the ones to show.
    for (const f of ["learning_rate", "batch_size", "epochs"]) {
      const v = $(`f-${f}`).value.trim();
      if (v === "") {
        this.setError(f, "Required");
        return null;
      }
      cfg[f] = Number(v);
    }
    const sub = $("f-train_subset").value.trim();
    cfg.train_subset = sub === "" ? null : Number(sub);
    cfg.augment = $("f-augment").checked;
    return cfg;
  }

  /** Show a watched run's resolved config in the form (e.g. after joining it). */
  showConfig(cfg) {
    if (!cfg) return;
    const sel = $("f-preset");
    if (cfg.preset && this.presets[cfg.preset]) sel.value = cfg.preset;
    this.fillForm(cfg);
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
        if (!(f && this.setError(f, e.msg))) rest.push(`${f || "request"}: ${e.msg}`);
      }
      if (rest.length) this.setError("form", rest.join("; "));
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
      this.setStatus(this.status, this.hasRun);
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

  /** Enable exactly the buttons that make sense for `status` (null: no run watched). */
  setStatus(status, hasRun = status !== null) {
    this.status = status;
    this.hasRun = hasRun;
    const b = this.buttons;
    const active = ACTIVE.has(status);
    b.start.disabled = active;
    b.pause.disabled = status !== "running";
    b.resume.disabled = status !== "paused";
    b.step.disabled = status !== "paused";
    b.stop.disabled = !active;
    b.save.disabled = !hasRun || !["running", "paused", "finished", "stopped", "diverged", "interrupted"].includes(status);
    const lrLive = status === "running" || status === "paused";
    this.lr.disabled = !lrLive;
    $("live-lr-apply").disabled = !lrLive;
    this.set("run-status", status || "idle");
    $("run-status").dataset.status = status || "idle";
  }

  /** textContent only when it changed: cheap DOM updates at 20 messages a second. */
  set(id, value) {
    if (this.text[id] === value) return;
    this.text[id] = value;
    $(id).textContent = value;
  }

  showProgress(progress) {
    if (!progress) return;
    this.set("run-step", String(progress.step ?? 0));
    if (progress.epoch !== undefined && progress.epochs) {
      this.set("run-epoch", `${Math.min(progress.epochs, Math.floor(progress.epoch) + 1)} / ${progress.epochs}`);
    }
    const bar = $("epoch-progress");
    const frac = progress.fraction ?? 0;
    if (Math.abs(bar.value - frac) > 0.001) bar.value = frac;
    const eta = progress.eta_seconds;
    const epochFrac = progress.epoch !== undefined ? progress.epoch - Math.floor(progress.epoch) : null;
    let text = `${Math.round(frac * 100)}% of the run`;
    if (epochFrac !== null && this.status === "running") text += ` · epoch ${Math.round(epochFrac * 100)}%`;
    if (eta !== null && eta !== undefined && this.status === "running") text += ` · ${fmtTime(eta)} left`;
    this.set("epoch-text", text);
  }

  showLatest(latest) {
    if (!latest) return;
    if (latest.cost !== undefined && latest.cost !== null) this.set("run-cost", Number(latest.cost).toPrecision(3));
    if (latest.batch_accuracy !== undefined && latest.batch_accuracy !== null) {
      this.set("run-acc", `${(latest.batch_accuracy * 100).toFixed(1)}%`);
    }
    if (latest.samples_per_second) this.set("run-speed", fmtCount(latest.samples_per_second));
    if (latest.learning_rate && document.activeElement !== this.lr && this.lr.dataset.shown !== String(latest.learning_rate)) {
      this.lr.value = latest.learning_rate;
      this.lr.dataset.shown = String(latest.learning_rate);
    }
  }

  showTestAccuracy(acc) {
    this.set("run-test-acc", acc === null || acc === undefined ? "–" : `${(acc * 100).toFixed(2)}%`);
  }

  showDownload(done, total) {
    const block = $("download-block");
    if (done === null) {
      block.hidden = true;
      return;
    }
    block.hidden = false;
    const bar = $("download-progress");
    bar.value = total ? done / total : 0;
    this.set("download-text", total ? `${(done / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB` : `${(done / 1e6).toFixed(1)} MB`);
  }

  resetStats() {
    for (const id of ["run-epoch", "run-cost", "run-acc", "run-test-acc", "run-speed"]) this.set(id, "–");
    this.set("run-step", "0");
    this.set("epoch-text", "");
    $("epoch-progress").value = 0;
  }
}

export function fmtTime(s) {
  if (!Number.isFinite(s)) return "–";
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

function fmtCount(v) {
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return v.toFixed(0);
}
