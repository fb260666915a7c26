// The dashboard's "Learners" section: one block per learner, one row per run, updated in
// place (a row is built once, then only its changed texts and its curve are redrawn, so a
// Stop button never moves under the teacher's pointer). Names are text, never markup.

import { count, pct, rate } from "./fmt.js";
import { drawCurve } from "./class-spark.js";
import { placeText, sizesText } from "./class-state.js";

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

const COLUMNS = ["Run", "Network", "Status", "Progress", "Accuracy now", "Samples/s", "Best test", "Curve", "Trains on", ""];

export class LearnersView {
  /** @param {HTMLElement} root  @param {{stop: (id) => void, isLive: (status) => boolean}} actions */
  constructor(root, actions) {
    this.root = root;
    this.actions = actions;
    this.groups = new Map(); // owner → {section, title, tbody}
    this.rows = new Map(); // run id → {tr, cells, canvas, stop, drawn}
  }

  /** Bring the view to `state` for the runs in `changed` (all of them after a reset). */
  render(state, changed) {
    if (changed.reset) {
      for (const id of [...this.rows.keys()]) if (!state.runs.has(id)) this.removeRow(id);
    }
    for (const id of changed.removed) this.removeRow(id);
    const learners = state.byLearner();
    for (const group of learners) {
      const view = this.group(group);
      view.title.textContent = group.name;
      view.count.textContent = `${group.runs.length} run${group.runs.length === 1 ? "" : "s"}`;
      for (const run of group.runs) {
        if (!this.rows.has(run.id)) view.tbody.append(this.newRow(run));
        if (changed.runs.has(run.id) || changed.reset) this.update(run);
      }
    }
    this.order(learners);
    const empty = document.getElementById("no-runs");
    if (empty) empty.hidden = learners.length > 0;
    return learners.length;
  }

  group(group) {
    let view = this.groups.get(group.owner);
    if (view) return view;
    const section = el("section", "learner");
    section.dataset.owner = group.owner;
    section.dataset.testid = "learner";
    const head = el("div", "learner-head");
    const title = el("h3", "learner-name");
    title.dataset.testid = "learner-name";
    const countEl = el("span", "muted small");
    head.append(title, countEl);
    const table = el("table", "runs-table");
    const thead = el("thead");
    const tr = el("tr");
    for (const c of COLUMNS) {
      const th = el("th", null, c);
      th.scope = "col";
      tr.append(th);
    }
    thead.append(tr);
    const tbody = el("tbody");
    table.append(thead, tbody);
    section.append(head, table);
    this.root.append(section);
    view = { section, title, count: countEl, tbody };
    this.groups.set(group.owner, view);
    return view;
  }

  /** Learner blocks in name order (moved only when out of place). */
  order(learners) {
    let prev = null;
    for (const group of learners) {
      const { section } = this.groups.get(group.owner);
      const want = prev ? prev.nextElementSibling : this.root.querySelector("section.learner");
      if (want !== section) {
        if (prev) prev.after(section);
        else this.root.prepend(section);
      }
      prev = section;
    }
    for (const [owner, view] of this.groups) {
      if (!learners.some((g) => g.owner === owner)) {
        view.section.remove();
        this.groups.delete(owner);
      }
    }
  }

  newRow(run) {
    const tr = el("tr");
    tr.dataset.run = run.id;
    tr.dataset.testid = "run-row";
    const cells = {};
    for (const key of ["run", "network", "status", "progress", "accuracy", "speed", "test", "curve", "where", "actions"]) {
      cells[key] = el("td", `c-${key}`);
      tr.append(cells[key]);
    }
    cells.runId = el("span", "run-id", run.id);
    cells.preset = el("span", "muted small");
    cells.run.append(cells.runId, el("br"), cells.preset);
    const canvas = el("canvas", "spark");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `accuracy curve of run ${run.id}`);
    cells.curve.append(canvas);
    const stop = el("button", "small", "Stop");
    stop.type = "button";
    stop.dataset.testid = "stop-run";
    stop.addEventListener("click", () => this.actions.stop(run.id, stop));
    const open = el("a", "small", "Open");
    open.href = `/?run=${encodeURIComponent(run.id)}`;
    open.target = "_blank";
    open.rel = "noopener";
    open.dataset.testid = "open-run";
    const show = el("a", "small", "Project");
    show.href = `/class/projector?run=${encodeURIComponent(run.id)}`;
    show.target = "_blank";
    show.rel = "noopener";
    cells.actions.append(stop, " ", open, " ", show);
    this.rows.set(run.id, { tr, cells, canvas, stop, text: {} });
    return tr;
  }

  update(run) {
    const row = this.rows.get(run.id);
    if (!row) return;
    const cfg = run.config || {};
    const set = (key, value) => {
      if (row.text[key] === value) return;
      row.text[key] = value;
      (row.cells[key] || key).textContent = value;
    };
    const saved = run.model_id ? ` · saved as “${run.model_name ?? run.model_id}”` : "";
    set("preset", `${cfg.preset ? `from ${cfg.preset}` : "custom"}${saved}`);
    set("network", `${sizesText(run.sizes)} · ${cfg.activation} · ${count(run.parameters)} params`);
    row.cells.network.title = `${cfg.optimizer}, learning rate ${cfg.learning_rate}, batch ${cfg.batch_size}, ${cfg.epochs} epochs, cost ${cfg.cost}`;
    let status = run.status;
    if (run.status === "queued" && run.queue_position) status += ` · #${run.queue_position} in queue`;
    set("status", status);
    row.cells.status.dataset.status = run.status;
    row.cells.status.title = run.reason || "";
    const progress = run.progress === null ? "–" : `${pct(run.progress)} · epoch ${Math.min(run.epochs, Math.floor(run.epoch || 0) + (run.progress >= 1 ? 0 : 1))}/${run.epochs}`;
    set("progress", progress);
    set("accuracy", pct(run.accuracy, 1));
    set("speed", run.samples_per_second ? rate(run.samples_per_second) : "–");
    set("test", pct(run.best_test_accuracy, 2));
    set("where", placeText(run.placement));
    row.cells.where.title = run.placement ? run.placement.description : "";
    row.stop.disabled = !this.actions.isLive(run.status);
    drawCurve(row.canvas, run.curve, run.total_steps);
  }

  removeRow(id) {
    const row = this.rows.get(id);
    if (row) row.tr.remove();
    this.rows.delete(id);
  }
}
