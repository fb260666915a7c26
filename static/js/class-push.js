// The dashboard's "Push a configuration" form: a preset and a few fields, sent with
// PUT /api/class/config (validated by the server as a run's config is); "Withdraw" clears it.
// It shows what is pushed now from the feed's `config` messages.

import { describeError, get, request } from "./api.js";
import { label, vocabulary } from "./vocab.js";
import { sizesText } from "./class-state.js";

const $ = (id) => document.getElementById(id);
const NUMBERS = ["epochs", "learning_rate", "batch_size"];

/** "784-16-16-10 · sigmoid · 3 epochs · rate 0.5 · batch 32" */
export function describeConfig(cfg) {
  const sizes = [784, ...(cfg.layers || []), 10];
  return `${sizesText(sizes)} · ${label(cfg.activation)} · ${cfg.epochs} epoch${cfg.epochs === 1 ? "" : "s"} · rate ${cfg.learning_rate} · batch ${cfg.batch_size}`;
}

export class PushForm {
  constructor() {
    this.presets = {};
    this.status = $("push-status");
    $("push-form").addEventListener("submit", (e) => {
      e.preventDefault();
      this.push();
    });
    $("push-clear").addEventListener("click", () => this.withdraw());
    $("p-preset").addEventListener("change", () => this.fill(this.presets[$("p-preset").value]));
  }

  async load() {
    const [presets, vocab] = await Promise.all([get("/api/presets"), vocabulary()]);
    const options = (sel, items) => sel.replaceChildren(...items.map(([v, t]) => {
      const o = document.createElement("option");
      o.value = v;
      o.textContent = t;
      return o;
    }));
    for (const [name, cfg] of Object.entries(presets)) if (name !== "limits") this.presets[name] = cfg;
    options($("p-preset"), Object.keys(this.presets).map((n) => [n, n]));
    options($("p-activation"), vocab.choices.activation.map((v) => [v, label(v)]));
    const first = this.presets["3b1b"] ? "3b1b" : Object.keys(this.presets)[0];
    $("p-preset").value = first;
    this.fill({ ...this.presets[first], epochs: 3 });
  }

  fill(cfg) {
    if (!cfg) return;
    $("p-layers").value = (cfg.layers || []).join(", ");
    $("p-activation").value = cfg.activation;
    for (const f of NUMBERS) $(`p-${f}`).value = cfg[f];
  }

  body() {
    const body = { preset: $("p-preset").value || undefined, activation: $("p-activation").value };
    body.layers = $("p-layers").value.split(/[\s,;x×]+/).filter(Boolean).map(Number);
    for (const f of NUMBERS) body[f] = Number($(`p-${f}`).value);
    return body;
  }

  async push() {
    try {
      await request("PUT", "/api/class/config", this.body());
    } catch (err) {
      this.status.textContent = `Not pushed: ${describeError(err)}`;
      this.status.dataset.state = "error";
    }
  }

  async withdraw() {
    try {
      await request("DELETE", "/api/class/config");
    } catch (err) {
      this.status.textContent = `Not withdrawn: ${describeError(err)}`;
    }
  }

  /** The feed's `config` message: what every learner's page offers now. */
  show(msg) {
    this.status.dataset.state = "";
    if (!msg.config) {
      this.status.textContent = "Nothing pushed.";
      return;
    }
    const at = new Date(msg.pushed_at * 1000).toLocaleTimeString();
    this.status.textContent = `Pushed at ${at}: ${describeConfig(msg.config)}`;
  }
}
