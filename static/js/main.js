// Wires the page together: the drawing pad feeds predictions, predictions light up the network
// view, the model select chooses which network answers, and a watched training run streams its
// curve, evaluations and live probe results into the panels. Each piece lives in its own module;
// this file only decides who tells whom.

import { ApiError, NetworkError, RunSocket, describeError, get, onReachability, patch, post } from "./api.js";
import { CostChart } from "./chart.js";
import { resetTheme } from "./colors.js";
import { ConfusionView, showGallery } from "./confusion.js";
import { initDescent } from "./descent.js";
import { DrawPad, drawDigit } from "./draw.js";
import { invalidate, measureFps, renderStats } from "./frame.js";
import { NetworkView, argmax } from "./network-view.js";
import { NeuronDetail } from "./neuron-detail.js";
import { TrainPanel } from "./train-panel.js";

const $ = (id) => document.getElementById(id);
const ACTIVE = new Set(["queued", "downloading", "running", "paused"]);
const FIRST_MODEL = "3b1b"; // few enough neurons to see each one: the page opens on it

// Measurement hooks for the e2e tests and bench/page_bench.py.
const hooks = {
  ready: false,
  lastPredictLatencyMs: null, // pointer up → prediction text in the DOM
  lastPredictPaintMs: null, // pointer up → the next animation frame after that (painted)
  predictLatencies: [],
  predictions: 0,
  probes: 0,
  metricsMessages: 0,
  snapshots: 0,
  // Simulate a dropped connection (tests): the socket must come back on its own.
  dropRunSocket: () => run && run.socket && run.socket.ws && run.socket.ws.close(),
  chartPoints: () => chart.points,
  runId: () => (run ? run.id : null),
  selected: () => selected,
  neuronPoint: (layer, index) => netView.clientPoint(layer, index),
  measureFps,
  renderStats: () => JSON.parse(JSON.stringify(renderStats)),
  // True once the answer for the current drawing is shown (multi-stroke drawings in tests).
  settled: () => !inFlight && !again && answeredGen === drawGen,
};
window.__nnp = hooks;

// --- components -------------------------------------------------------------------------

const pad = new DrawPad($("draw-canvas"), { onChange: () => drawingChanged() });
const netView = new NetworkView($("network-canvas"), { onSelect: (sel) => showNeuron(sel) });
const detail = new NeuronDetail($("neuron-detail"));
const chart = new CostChart($("cost-chart"), $("chart-tip"));
hooks.descent = initDescent($("descent")); // the gradient-descent toys (window.__nnp.descent)
const confusion = new ConfusionView($("confusion"), { onCell: (r, c) => showCell(r, c) });
const panel = new TrainPanel({
  start: (cfg) => startRun(cfg),
  pause: () => control("pause"),
  resume: () => control("resume"),
  step: () => control("step"),
  stop: () => control("stop"),
  save: () => saveRun(),
  learningRate: (lr) => patch(`/api/runs/${run.id}`, { learning_rate: lr }),
  message: (text) => runMessage(text),
});

let models = [];
let selected = null; // {kind: "model"|"run", id}
const networks = new Map(); // model id → NetworkJSON (weights never change for a model)
let run = null; // {id, status, info, socket}
let lastInput = null; // 784 values the server saw for the current drawing
let drawGen = 0; // bumps on every drawing change: stale answers are ignored

// --- prediction -------------------------------------------------------------------------

let debounce = null;
let inFlight = false;
let again = false;
let answeredGen = -1; // the drawGen of the last answer shown

function drawingChanged() {
  drawGen++;
  clearTimeout(debounce);
  if (pad.isEmpty()) {
    showEmpty();
    if (run && run.socket) run.socket.send({ type: "probe", pixels: null }, "probe");
    return;
  }
  // A short debounce merges bursts (undo held down, quick strokes) into one request.
  debounce = setTimeout(predict, 12);
}

async function predict() {
  if (pad.isEmpty()) return;
  if (inFlight) {
    again = true; // at most one request in flight: the latest drawing goes next
    return;
  }
  inFlight = true;
  const gen = drawGen;
  const upAt = pad.lastPointerUp;
  const exact = pad.exactPixels();
  const body = exact ? { pixels: exact } : { image: pad.toDataURL() };
  const onRun = selected && selected.kind === "run";
  if (onRun && run && run.socket) {
    run.socket.send({ type: "probe", ...body }, "probe");
  }
  try {
    const model = onRun ? FIRST_MODEL_OR_DEFAULT() : selected ? selected.id : undefined;
    const include = onRun ? ["input"] : ["input", "activations", "zs"];
    const res = await post("/api/predict", { ...body, model, include });
    if (gen !== drawGen && pad.isEmpty()) return;
    lastInput = res.input || null;
    drawDigit($("seen-canvas"), lastInput);
    if (!onRun) {
      showPrediction(res);
      measure(upAt);
    } else {
      netView.setState({ ...(netView.state || {}), input: lastInput });
    }
    drawMessage("");
  } catch (err) {
    if (err instanceof ApiError && err.status === 422) {
      // The server's own words, e.g. "The drawing is empty: ..."
      clearPrediction();
      drawMessage(`${describeError(err)} Draw a bigger digit.`);
    } else if (err instanceof ApiError && err.status === 404 && !onRun) {
      drawMessage(`The model “${selected.id}” is gone; pick another one.`);
      await loadModels();
    } else {
      drawMessage(describeError(err));
    }
  } finally {
    inFlight = false;
    answeredGen = gen;
    if (again) {
      again = false;
      predict();
    }
  }
}

function FIRST_MODEL_OR_DEFAULT() {
  return models.some((m) => m.id === FIRST_MODEL) ? FIRST_MODEL : document.body.dataset.defaultModel;
}

function measure(upAt) {
  if (!upAt) return;
  const now = performance.now();
  const ms = now - upAt;
  // Only a prediction that answers a fresh stroke counts (not a model switch re-predict).
  if (ms > 5000) return;
  pad.lastPointerUp = 0;
  hooks.lastPredictLatencyMs = ms;
  hooks.predictLatencies.push(ms);
  requestAnimationFrame(() => {
    hooks.lastPredictPaintMs = performance.now() - upAt;
  });
}

let lastAnnounced = null;

function showPrediction(p) {
  hooks.predictions++;
  const digit = p.digit ?? argmax(p.probabilities);
  const conf = p.confidence ?? p.probabilities[digit];
  $("prediction").textContent = String(digit);
  $("confidence").textContent = p.note ? "only a guess" : `${Math.round(conf * 100)}% sure`;
  showNote(p.note || null);
  if (digit !== lastAnnounced) {
    lastAnnounced = digit;
    $("announce").textContent = `The network thinks it's a ${digit}, ${Math.round(conf * 100)} percent sure.`;
  }
  netView.setState({
    input: p.input || lastInput,
    activations: p.activations || null,
    zs: p.zs || null,
    probabilities: p.probabilities,
  });
  refreshDetail();
}

// The server's "can't really read this" note; the digit is then marked as a guess.
function showNote(note) {
  const el = $("prediction-note");
  el.textContent = note ? note.message : "";
  el.hidden = !note;
  $("prediction").classList.toggle("guess", Boolean(note));
}

function clearPrediction() {
  showNote(null);
  $("prediction").textContent = "";
  $("confidence").textContent = "";
  lastAnnounced = null;
  netView.setState(null);
  refreshDetail();
}

function showEmpty() {
  clearPrediction();
  lastInput = null;
  drawDigit($("seen-canvas"), null);
  $("digit-label").textContent = "";
  $("announce").textContent = "";
  drawMessage("Draw a digit from 0 to 9 in the black box.");
}

function drawMessage(text) {
  const el = $("draw-message");
  if (el.textContent !== text) el.textContent = text;
}

async function randomDigit() {
  drawMessage("Fetching a test digit…");
  try {
    const d = await get("/api/digits/random");
    pad.setPixels(d.pixels);
    $("digit-label").textContent = `MNIST test digit #${d.index}, labelled ${d.label}`;
  } catch (err) {
    drawMessage(`No test digit: ${describeError(err)}`);
  }
}

// --- neuron detail ----------------------------------------------------------------------

let detailSel = null;

function showNeuron(sel) {
  detailSel = sel;
  refreshDetail();
}

let detailPending = false;

function refreshDetail() {
  if (!detailSel || detailPending) return;
  // Coalesce: probes arrive several times a second while training.
  detailPending = true;
  requestAnimationFrame(() => {
    detailPending = false;
    detail.show(netView.describe(detailSel));
  });
}

// --- models -----------------------------------------------------------------------------

async function loadModels() {
  try {
    const data = await get("/api/models");
    models = data.models || [];
  } catch (err) {
    drawMessage(`Couldn't load the models: ${describeError(err)}`);
  }
  fillSelect();
}

function fillSelect() {
  const sel = $("model-select");
  const prev = sel.value;
  sel.replaceChildren();
  const shipped = models.filter((m) => m.shipped);
  const saved = models.filter((m) => !m.shipped);
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
  group("Shipped", shipped.map((m) => [m.id, modelLabel(m)]));
  group("Saved", saved.map((m) => [m.id, modelLabel(m)]));
  if (run) group("Training", [[`run:${run.id}`, `training run ${run.id} (${run.status})`]]);
  const want = selected ? (selected.kind === "run" ? `run:${selected.id}` : selected.id) : prev;
  if (want && [...sel.options].some((o) => o.value === want)) sel.value = want;
}

function modelLabel(m) {
  const arch = (m.sizes || []).join("-");
  return `${m.name || m.id} · ${arch}`;
}

async function select(value) {
  const sel = $("model-select");
  if (sel.value !== value) sel.value = value;
  if (value.startsWith("run:")) {
    selected = { kind: "run", id: value.slice(4) };
    const cfg = run && run.info && run.info.config;
    const sizes = cfg && cfg.layers ? [784, ...cfg.layers, 10] : null;
    netView.setArchitecture(sizes, cfg && cfg.activation);
    $("model-info").textContent = `The run that is training: the drawing is re-checked after each update.${
      sizes ? ` ${sizes.join("-")} · ${cfg.activation}` : ""}`;
    clearPrediction();
    refreshRunNetwork(true);
    if (!pad.isEmpty()) predict();
    return;
  }
  selected = { kind: "model", id: value };
  if (run && run.socket) run.socket.send({ type: "probe", pixels: null }, "probe");
  const m = models.find((x) => x.id === value);
  if (m) {
    netView.setArchitecture(m.sizes, m.activation);
    const acc = m.test_accuracy !== null && m.test_accuracy !== undefined ? ` · test accuracy ${(m.test_accuracy * 100).toFixed(1)}%` : "";
    $("model-info").textContent = `${(m.sizes || []).join("-")} · ${m.activation} · ${m.cost} · ${Number(m.parameters).toLocaleString("en")} parameters${acc}`;
  }
  if (!pad.isEmpty()) predict();
  try {
    let net = networks.get(value);
    if (!net) {
      net = await get(`/api/models/${encodeURIComponent(value)}/network`);
      networks.set(value, net);
    }
    if (selected.kind === "model" && selected.id === value) {
      netView.setNetwork(net);
      refreshDetail();
    }
  } catch (err) {
    drawMessage(`Couldn't load the model's weights: ${describeError(err)}`);
  }
}

// --- training runs ----------------------------------------------------------------------

let netFetch = null;
let netFetchedAt = 0;

/** The run's current weights for the connections; throttled by network size while training. */
async function refreshRunNetwork(force = false) {
  if (!run || !selected || selected.kind !== "run" || selected.id !== run.id || netFetch) return;
  // No weights exist before training begins (the server answers 409 then).
  if (run.status === "queued" || run.status === "downloading") return;
  const params = run.info && run.info.config && run.info.config.layers
    ? [784, ...run.info.config.layers, 10].reduce((a, n, i, s) => (i ? a + s[i - 1] * n : 0), 0)
    : 20000;
  const period = Math.max(3000, params / 20);
  if (!force && performance.now() - netFetchedAt < period) return;
  const id = run.id;
  netFetchedAt = performance.now();
  netFetch = get(`/api/runs/${encodeURIComponent(id)}/network`)
    .then((net) => {
      if (run && run.id === id && selected && selected.kind === "run") {
        netView.setNetwork(net);
        refreshDetail();
      }
    })
    .catch(() => {
      /* the run may not have weights yet (queued/downloading): try again later */
    })
    .finally(() => {
      netFetch = null;
    });
}

async function startRun(cfg) {
  runMessage("");
  const info = await post("/api/runs", cfg);
  watch(info);
  select(`run:${info.id}`);
}

function watch(info) {
  if (run && run.socket) run.socket.close();
  run = { id: info.id, status: info.status, info, socket: null };
  galleryCell = null;
  chart.reset();
  panel.resetStats();
  panel.setStatus(info.status, true);
  panel.showTestAccuracy(null);
  fillSelect();
  run.socket = new RunSocket(info.id, (msg) => onRunEvent(info.id, msg));
  // Live weight maps are not needed: the network view refetches weights itself.
}

function onRunEvent(id, msg) {
  if (!run || run.id !== id) return;
  switch (msg.type) {
    case "snapshot":
      hooks.snapshots++;
      applySnapshot(msg.run);
      break;
    case "metrics":
      hooks.metricsMessages++;
      chart.addPoints(msg.points);
      panel.showProgress(msg.progress || { step: msg.step, epoch: msg.epoch });
      panel.showLatest(msg);
      // Metrics mean training has begun; but the last points of a stopped run may arrive just
      // after its "stopped" status, and must not revive it.
      if (run.status === "queued" || run.status === "downloading") setRunStatus("running", null);
      refreshRunNetwork();
      break;
    case "evaluation":
      applyEvaluation(msg);
      refreshRunNetwork(true);
      break;
    case "status":
      setRunStatus(msg.status, msg.reason);
      break;
    case "download":
      panel.showDownload(msg.done, msg.total);
      break;
    case "probe":
      hooks.probes++;
      if (selected && selected.kind === "run" && !pad.isEmpty()) {
        showPrediction({ ...msg, input: lastInput });
      }
      break;
    case "error":
      runMessage(`Server: ${msg.detail}`);
      break;
    case "gone":
      runMessage("This run no longer exists on the server.");
      setRunStatus("stopped", null);
      break;
    default:
      break;
  }
}

function applySnapshot(info) {
  if (!info) return;
  run.info = info;
  chart.reset();
  const h = info.history || {};
  if (h.metrics) chart.addPoints(h.metrics);
  const evals = h.evaluations || [];
  for (const e of evals) chart.addEvaluation(e);
  panel.showProgress(info.progress);
  panel.showLatest(info.latest);
  setRunStatus(info.status, info.reason);
  if (evals.length) applyEvaluation(evals[evals.length - 1], true);
  // Re-send the probe: this is a new (or re-)connection.
  if (selected && selected.kind === "run" && !pad.isEmpty()) predict();
}

function applyEvaluation(ev, fromSnapshot = false) {
  if (!fromSnapshot) chart.addEvaluation(ev);
  panel.showTestAccuracy(ev.test_accuracy);
  confusion.show(ev.confusion);
  loadMistakes();
}

// What the gallery shows: null = the most confident mistakes, else one confusion cell.
// Kept across evaluations so a clicked cell stays on screen while the run trains on.
let galleryCell = null;

async function loadMistakes() {
  if (!run) return;
  const id = run.id;
  const cell = galleryCell;
  const query = cell ? `label=${cell[0]}&predicted=${cell[1]}&limit=24` : "limit=24";
  $("gallery-title").textContent = cell
    ? `Test digits that are ${cell[0]}, predicted ${cell[1]}`
    : "Most confident mistakes";
  $("gallery-back").hidden = !cell;
  try {
    const data = await get(`/api/runs/${encodeURIComponent(id)}/digits?${query}`);
    if (run && run.id === id && cell === galleryCell) {
      showGallery($("gallery"), data.digits, cell ? "None." : "No mistakes. Impressive.");
    }
  } catch (err) {
    showGallery($("gallery"), [], `Couldn't load the digits: ${describeError(err)}`);
  }
}

function showCell(label, predicted) {
  galleryCell = [label, predicted];
  loadMistakes();
}

function setRunStatus(status, reason) {
  const changed = run.status !== status;
  run.status = status;
  if (run.info) run.info.status = status;
  panel.setStatus(status, true);
  if (status !== "downloading") panel.showDownload(null);
  if (changed) fillSelect();
  if (status === "diverged") {
    const lr = run.info && run.info.latest ? run.info.latest.learning_rate : run.info && run.info.config && run.info.config.learning_rate;
    const lower = lr ? ` Try a lower learning rate, e.g. ${+(lr / 10).toPrecision(2)} instead of ${lr}.` : " Try a lower learning rate.";
    runMessage(`The run diverged: the cost became infinite or NaN${reason ? ` (${reason})` : ""}. The steps were too big for this network.${lower}`, true);
  } else if (status === "failed") {
    runMessage(`The run failed${reason ? `: ${reason}` : "."}`, true);
  } else if (status === "interrupted") {
    runMessage("The run was interrupted when the server stopped. Its history is kept; start a new run to continue.");
  } else if (status === "finished" && changed) {
    runMessage("Finished. Save it as a model to keep it.");
    refreshRunNetwork(true);
  } else if (changed && (status === "paused" || status === "stopped")) {
    refreshRunNetwork(true);
    runMessage(status === "paused" ? "Paused. Step trains one mini-batch." : "Stopped.");
  } else if (changed && status === "running") {
    runMessage("");
  }
}

async function control(action) {
  const info = await post(`/api/runs/${encodeURIComponent(run.id)}/${action}`);
  if (info && info.status && run && info.id === run.id) {
    setRunStatus(info.status, info.reason);
    // The reply can arrive after a newer metrics message over the WebSocket (a single step
    // trains in well under a millisecond): never let it move the shown step backwards.
    const shown = Number(document.querySelector('[data-testid="run-step"]').textContent) || 0;
    if (info.progress && (info.progress.step ?? 0) >= shown) panel.showProgress(info.progress);
  }
}

async function saveRun() {
  const name = $("save-name").value.trim();
  const m = await post(`/api/runs/${encodeURIComponent(run.id)}/save`, name ? { name } : {});
  await loadModels();
  runMessage(`Saved as model “${m.name || m.id}”: pick it in the Model list.`);
}

function runMessage(text, alarm = false) {
  const el = $("run-message");
  el.textContent = text;
  el.classList.toggle("alarm", alarm);
}

async function joinRunningRun() {
  try {
    const data = await get("/api/runs");
    const runs = (data.runs || []).filter((r) => ACTIVE.has(r.status));
    runs.sort((a, b) => String(b.created).localeCompare(String(a.created)));
    if (runs.length) {
      watch(runs[0]);
      await presetsLoaded;
      panel.showConfig(runs[0].config);
      runMessage(`Joined run ${runs[0].id}, which is ${runs[0].status}.`);
    }
  } catch {
    /* the banner tells the story */
  }
}

// --- theme, banner, keyboard ------------------------------------------------------------

function setTheme(name) {
  document.documentElement.dataset.theme = name;
  try {
    localStorage.setItem("nnp-theme", name);
  } catch {
    /* private mode: not persisted */
  }
  const b = $("theme-toggle");
  const light = name === "light";
  b.textContent = light ? "☾ Dark" : "☀ Light";
  b.setAttribute("aria-label", light ? "Switch to dark theme" : "Switch to light theme");
  b.setAttribute("aria-pressed", String(light));
  resetTheme();
  netView.relayout();
  invalidate(chart);
}

onReachability((ok) => {
  const b = $("banner");
  if (ok) {
    b.hidden = true;
  } else {
    b.textContent = "Can't reach the server. Is nn-playground still running? Reconnecting automatically…";
    b.hidden = false;
  }
});

document.addEventListener("keydown", (e) => {
  const tag = e.target && e.target.tagName;
  if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
  if (e.key === "Escape") {
    pad.clear();
  } else if ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === "z") {
    e.preventDefault();
    pad.undo();
  } else if (!e.ctrlKey && !e.metaKey && !e.altKey && e.key.toLowerCase() === "r") {
    randomDigit();
  }
});

$("clear").addEventListener("click", () => pad.clear());
$("gallery-back").addEventListener("click", () => {
  galleryCell = null;
  loadMistakes();
});
$("undo").addEventListener("click", () => pad.undo());
$("random-digit").addEventListener("click", () => randomDigit());
$("model-select").addEventListener("change", (e) => select(e.target.value));
$("log-scale").addEventListener("change", (e) => chart.setLog(e.target.checked));
$("theme-toggle").addEventListener("click", () =>
  setTheme(document.documentElement.dataset.theme === "light" ? "dark" : "light"));

// --- start ------------------------------------------------------------------------------

let presetsLoaded = Promise.resolve();

async function init() {
  setTheme(document.documentElement.dataset.theme === "light" ? "light" : "dark");
  showEmpty();
  presetsLoaded = panel.loadPresets();
  await Promise.all([loadModels(), presetsLoaded, joinRunningRun()]);
  const first = models.some((m) => m.id === FIRST_MODEL) ? FIRST_MODEL : document.body.dataset.defaultModel || (models[0] && models[0].id);
  if (first) await select(first);
  hooks.ready = true;
}

init().catch((err) => {
  if (!(err instanceof NetworkError)) console.warn(err);
  hooks.ready = true;
});
