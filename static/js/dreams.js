// "What it dreams of" (issue 8, section 6): for each digit, the input image the selected model
// rates highest, from GET /api/models/{id}/dreams. The server computes them (gradient ascent on
// the input, app/nn/dreams.py) and caches them per model; the page only draws them.

import { describeError, get } from "./api.js";
import { className } from "./classes.js";
import { drawDigit } from "./draw.js";
import { pct, short } from "./fmt.js";

const $ = (id) => document.getElementById(id);

export class DreamsPanel {
  constructor() {
    this.grid = $("dreams-grid");
    this.status = $("dreams-status");
    this.progress = $("dreams-progress");
    this.answers = new Map(); // model id → Promise of its DreamsResponse (they never change)
    this.want = null; // the model whose dreams should be shown
    this.shown = null; // the model whose dreams are drawn
    this.cells = [];
    for (let d = 0; d < 10; d++) this.cells.push(this.cell(d));
  }

  cell(digit) {
    const fig = document.createElement("figure");
    fig.className = "dream";
    fig.dataset.testid = "dream";
    const canvas = document.createElement("canvas");
    canvas.width = 28;
    canvas.height = 28;
    canvas.className = "pixelated";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `The image the model rates most like a ${digit}`);
    const cap = document.createElement("figcaption");
    const label = document.createElement("strong");
    label.textContent = String(digit);
    const conf = document.createElement("span");
    conf.className = "muted";
    cap.append(label, " ", conf);
    fig.append(canvas, cap);
    this.grid.append(fig);
    return { fig, canvas, conf, label };
  }

  /** Show the dreams of saved model `id` (fetched once per model). */
  async model(id) {
    this.want = id;
    if (this.shown === id) return;
    this.setState("computing", `Computing what ${id} dreams of…`);
    if (!this.answers.has(id)) {
      const p = get(`/api/models/${encodeURIComponent(id)}/dreams`);
      p.catch(() => this.answers.delete(id)); // try again next time
      this.answers.set(id, p);
    }
    try {
      const res = await this.answers.get(id);
      if (this.want === id) this.draw(res);
    } catch (err) {
      if (this.want === id) this.setState("error", `Couldn't compute the dreams: ${describeError(err)}`);
    }
  }

  /** A training run is selected: its weights change every step, so it has no dreams. */
  run() {
    this.want = null;
    this.shown = null;
    for (const c of this.cells) {
      drawDigit(c.canvas, null);
      c.conf.textContent = "";
    }
    $("dreams-note").textContent = "";
    this.setState("run", "A training run has no dreams: pick a saved model in the Model list (or save the run).");
  }

  draw(res) {
    res.digits.forEach((digit, k) => {
      const c = this.cells[digit];
      const p = res.probabilities[k][digit];
      drawDigit(c.canvas, res.images[k]);
      c.label.textContent = className(digit); // "7", or "Sneaker" (issue 17 §3)
      c.conf.textContent = pct(p);
      c.fig.title = `${res.model} is ${pct(p)} sure this is a ${className(digit)}`;
    });
    this.shown = res.model;
    $("dreams-note").textContent =
      `Under each image: how sure ${res.model} is that it shows that digit. ` +
      `${res.steps} steps of gradient ascent, computed once on the server in ${short(res.seconds, 3)} s.`;
    this.setState("ready", "");
  }

  setState(name, text) {
    this.grid.parentElement.dataset.state = name;
    this.progress.hidden = name !== "computing";
    this.status.textContent = text;
    this.status.hidden = !text;
  }
}
