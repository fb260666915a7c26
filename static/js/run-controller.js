// The training run the page watches: its WebSocket events feed the cost chart, the training
// panel's numbers, the confusion matrix and mistakes gallery, and (while the run is selected)
// the live probe of the drawing and the network view's weights.

import { ApiError, RunSocket, describeError, get, post, request } from "./api.js";
import { showGallery } from "./confusion.js";
import { short } from "./fmt.js";
import { me, othersRun } from "./identity.js";
import { hooks, state } from "./state.js";
import { parameterCount, sizesFor, vocabulary } from "./vocab.js";

const $ = (id) => document.getElementById(id);
const WATCHED = "nnp.watchedRun"; // sessionStorage: the run this tab watched, reopened on reload

export class RunController {
  /**
   * parts: {chart, panel, confusion, netView}; on: {listChanged(), select(value),
   * modelsChanged(), probe(msg), reprobe(), network(net), unwatched()}.
   */
  constructor(parts, on) {
    Object.assign(this, parts);
    this.on = on;
    this.galleryCell = null; // null = the most confident mistakes, else one confusion cell
    this.netFetch = null;
    this.netFetchedAt = 0;
    $("gallery-back").addEventListener("click", () => {
      this.galleryCell = null;
      this.loadMistakes();
    });
  }

  /** Tell the run what to probe (the drawing's body), or stop probing (null). */
  probe(body) {
    const run = state.run;
    if (!run || !run.socket) return;
    run.socket.send(body ? { type: "probe", ...body } : { type: "probe", pixels: null }, "probe");
  }

  selectedRun() {
    const run = state.run;
    const s = state.selected;
    return run && s && s.kind === "run" && s.id === run.id ? run : null;
  }

  /** The run's current weights for the connections; throttled by network size while training. */
  refreshNetwork(force = false) {
    const run = this.selectedRun();
    if (!run || this.netFetch) return;
    // No weights exist before training begins (the server answers 409 then).
    if (run.info.status === "queued" || run.info.status === "downloading") return;
    const sizes = sizesFor(run.info && run.info.config && run.info.config.layers);
    const params = sizes ? parameterCount(sizes) : 20000;
    const period = Math.max(3000, params / 20);
    if (!force && performance.now() - this.netFetchedAt < period) return;
    const id = run.id;
    this.netFetchedAt = performance.now();
    this.netFetch = get(`/api/runs/${encodeURIComponent(id)}/network`)
      .then((net) => {
        if (this.selectedRun() && state.run.id === id) this.on.network(net);
      })
      .catch(() => {
        /* the run may not have weights yet (queued/downloading): try again later */
      })
      .finally(() => {
        this.netFetch = null;
      });
  }

  async start(cfg) {
    this.message("");
    const info = await post("/api/runs", cfg);
    this.watch(info);
    this.on.select(`run:${info.id}`);
  }

  watch(info) {
    if (state.run && state.run.socket) state.run.socket.close();
    try {
      sessionStorage.setItem(WATCHED, info.id);
    } catch {
      /* storage off: a reload just won't reopen it */
    }
    const run = { id: info.id, info, socket: null };
    state.run = run;
    this.galleryCell = null;
    this.chart.reset();
    this.panel.resetStats();
    this.panel.setStatus();
    this.panel.showTestAccuracy(null);
    this.panel.showQueue(info.queue_position);
    this.panel.showPlacement(info.placement);
    this.panel.showSpeed(info.speed);
    this.on.listChanged();
    run.socket = new RunSocket(info.id, (msg) => this.onEvent(info.id, msg));
  }

  onEvent(id, msg) {
    const run = state.run;
    if (!run || run.id !== id) return;
    switch (msg.type) {
      case "snapshot":
        hooks.snapshots++;
        this.applySnapshot(msg.run);
        break;
      case "metrics":
        hooks.metricsMessages++;
        this.chart.addPoints(msg.points);
        this.panel.showProgress(msg.progress || { step: msg.step, epoch: msg.epoch });
        this.panel.showLatest(msg);
        this.refreshNetwork();
        break;
      case "evaluation":
        this.applyEvaluation(msg);
        this.refreshNetwork(true);
        break;
      case "status":
        this.setStatus(msg.status, msg.reason);
        this.panel.showQueue(msg.queue_position);
        if ("placement" in msg) this.panel.showPlacement(msg.placement);
        if ("speed" in msg) {
          // Set here, in another tab or through the API: every watcher shows the run's speed.
          if (state.run && state.run.info) state.run.info.speed = msg.speed;
          this.panel.showSpeed(msg.speed);
        }
        break;
      case "download":
        this.panel.showDownload(msg.done, msg.total);
        break;
      case "probe":
        hooks.probes++;
        if (this.selectedRun()) this.on.probe(msg);
        break;
      case "error":
        this.message(`Server: ${msg.detail}`);
        break;
      case "gone":
        // The server forgot the run: stop watching it (its status is not ours to make up).
        this.forget(`Run ${id} no longer exists on the server.`);
        break;
      default:
        break;
    }
  }

  applySnapshot(info) {
    if (!info) return;
    const before = state.run.info.status;
    state.run.info = info;
    this.chart.reset();
    const h = info.history || {};
    if (h.metrics) this.chart.addPoints(h.metrics);
    const evals = h.evaluations || [];
    for (const e of evals) this.chart.addEvaluation(e);
    this.panel.showProgress(info.progress);
    this.panel.showLatest(info.latest);
    this.setStatus(info.status, info.reason, before);
    this.panel.showQueue(info.queue_position);
    this.panel.showPlacement(info.placement);
    this.panel.showSpeed(info.speed);
    if (evals.length) this.applyEvaluation(evals[evals.length - 1], true);
    // Re-send the probe: this is a new (or re-)connection.
    if (this.selectedRun()) this.on.reprobe();
  }

  applyEvaluation(ev, fromSnapshot = false) {
    if (!fromSnapshot) this.chart.addEvaluation(ev);
    this.panel.showTestAccuracy(ev.test_accuracy);
    this.panel.showDrawingsAccuracy(ev.drawings_accuracy ?? null); // issue 17 §2
    this.confusion.show(ev.confusion);
    this.loadMistakes();
  }

  async loadMistakes() {
    if (!state.run) return;
    const id = state.run.id;
    const cell = this.galleryCell;
    const query = cell ? `label=${cell[0]}&predicted=${cell[1]}&limit=24` : "limit=24";
    $("gallery-title").textContent = cell ? `Test digits that are ${cell[0]}, predicted ${cell[1]}` : "Most confident mistakes";
    $("gallery-back").hidden = !cell;
    try {
      const data = await get(`/api/runs/${encodeURIComponent(id)}/digits?${query}`);
      if (state.run && state.run.id === id && cell === this.galleryCell) {
        showGallery($("gallery"), data.digits, cell ? "None." : "No mistakes. Impressive.");
      }
    } catch (err) {
      showGallery($("gallery"), [], `Couldn't load the digits: ${describeError(err)}`);
    }
  }

  /** A confusion-matrix cell was clicked: show those test digits (kept across evaluations). */
  showCell(label, predicted) {
    this.galleryCell = [label, predicted];
    this.loadMistakes();
  }

  /** The server said the run's status (a message or a reply): its one copy is run.info. */
  setStatus(status, reason, before = state.run.info.status) {
    const run = state.run;
    const changed = before !== status;
    run.info.status = status;
    this.panel.setStatus();
    if (status !== "downloading") this.panel.showDownload(null);
    if (changed) this.on.listChanged();
    if (status === "diverged" && reason && reason.startsWith("collapsed")) {
      // Chance-level accuracy after the first epoch: the reason names the rate and a better one.
      this.message(`The run diverged: it collapsed, ${reason.replace(/^collapsed:\s*/, "")}. It did not learn; start again with the smaller learning rate.`, true);
      const suggested = /\btry ([0-9.eE+-]+)/.exec(reason);
      this.panel.suggestRate(suggested && Number(suggested[1]) > 0 ? suggested[1] : null);
      return;
    }
    this.panel.suggestRate(null);
    if (status === "diverged") {
      const info = run.info;
      const lr = info && info.latest ? info.latest.learning_rate : info && info.config && info.config.learning_rate;
      const lower = lr ? ` Try a lower learning rate, e.g. ${short(lr / 10, 2)} instead of ${short(lr)}.` : " Try a lower learning rate.";
      this.message(`The run diverged: the cost became infinite or NaN${reason ? ` (${reason})` : ""}. The steps were too big for this network.${lower}`, true);
    } else if (status === "failed") {
      this.message(`The run failed${reason ? `: ${reason}` : "."}`, true);
    } else if (status === "queued") {
      if (changed) this.message("");
    } else if (status === "interrupted") {
      this.message("The run was interrupted when the server stopped. Its history and its last checkpoint are kept: save it as a model, or start a new run.");
    } else if (status === "finished" && changed) {
      this.message("Finished. Save it as a model to keep it.");
      this.refreshNetwork(true);
    } else if (changed && (status === "paused" || status === "stopped")) {
      this.refreshNetwork(true);
      this.message(status === "paused" ? "Paused. Step trains one mini-batch." : "Stopped.");
    } else if (changed && status === "running") {
      this.message("");
    }
  }

  async control(action) {
    const run = state.run;
    const info = await post(`/api/runs/${encodeURIComponent(run.id)}/${action}`);
    if (info && info.status && state.run && info.id === state.run.id) {
      this.setStatus(info.status, info.reason);
      // The reply can arrive after a newer metrics message over the WebSocket (a single step
      // trains in well under a millisecond): never let it move the shown step backwards.
      const shown = Number(document.querySelector('[data-testid="run-step"]').textContent) || 0;
      if (info.progress && (info.progress.step ?? 0) >= shown) this.panel.showProgress(info.progress);
    }
  }

  /** Slow motion (mini-batches a second) or full speed (null); the run's reply. */
  async speed(batchesPerSecond) {
    const run = state.run;
    const info = await post(`/api/runs/${encodeURIComponent(run.id)}/speed`, { batches_per_second: batchesPerSecond });
    if (state.run && state.run.info && info && info.id === state.run.id) state.run.info.speed = info.speed;
    return info;
  }

  async save(id = state.run.id) {
    const name = id === (state.run && state.run.id) ? $("save-name").value.trim() : "";
    const m = await post(`/api/runs/${encodeURIComponent(id)}/save`, name ? { name } : {});
    await this.on.modelsChanged();
    this.message(`Saved run ${id} as model “${m.name || m.id}”: pick it in the Model list.`);
    this.on.listChanged();
  }

  /** Watch a run from the recent runs list and let it answer the drawing. */
  async open(id) {
    const info = await get(`/api/runs/${encodeURIComponent(id)}`);
    this.watch(info);
    this.panel.showConfig(info.config);
    this.on.select(`run:${id}`);
  }

  /** Open the run a link names (?run=<id>), anyone's: watching is for everyone. Its id, or
   * null with a short message when it no longer exists (or the id is not one). */
  async openLink(id, presetsLoaded) {
    try {
      const info = await get(`/api/runs/${encodeURIComponent(id)}`);
      this.watch(info);
      await presetsLoaded;
      this.panel.showConfig(info.config);
      this.message(`Opened run ${info.id} from the link; it is ${info.status}.`);
      return info.id;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 422)) {
        return null; // the caller says so: the link's run is gone
      }
      throw err;
    }
  }

  /** Delete a run; if it is the watched one, stop watching it. */
  async remove(id) {
    await request("DELETE", `/api/runs/${encodeURIComponent(id)}`);
    const run = state.run;
    if (run && run.id === id) this.forget(`Deleted run ${id}.`);
    this.on.listChanged();
  }

  /** Stop watching the current run (deleted, or gone from the server). */
  forget(text) {
    const run = state.run;
    if (run.socket) run.socket.close();
    state.run = null;
    this.chart.reset();
    this.panel.resetStats();
    this.panel.setStatus();
    this.message(text);
    this.on.unwatched();
  }

  message(text, alarm = false) {
    const el = $("run-message");
    el.textContent = text;
    el.classList.toggle("alarm", alarm);
  }

  /**
   * Join this learner's newest run that is still going (a reload, a second tab), else reopen
   * the run this tab watched before a reload; select it so the drawing is re-checked by it. Its
   * id, or null. Never someone else's run: only a link (openLink) or a click opens one of those.
   */
  async joinRunning(presetsLoaded) {
    try {
      const [data, vocab, who] = await Promise.all([get("/api/runs?mine=1"), vocabulary(), me()]);
      // ?mine=1 lists only the caller's runs; a server from before class mode ignores it, and
      // then every run is this user's (othersRun is false without an `owner`).
      const all = (data.runs || []).filter((r) => !othersRun(r, who));
      const live = all.filter((r) => vocab.live.has(r.status));
      live.sort((a, b) => String(b.created).localeCompare(String(a.created)));
      let watched = null;
      try {
        watched = sessionStorage.getItem(WATCHED);
      } catch {
        /* storage off */
      }
      const run = live[0] || all.find((r) => r.id === watched);
      if (!run) return null;
      this.watch(run);
      await presetsLoaded;
      this.panel.showConfig(run.config);
      this.message(`Joined run ${run.id}, which is ${run.status}.`); // run: the server's RunInfo
      return run.id;
    } catch {
      return null; /* the banner tells the story */
    }
  }
}
