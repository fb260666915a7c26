// Wires the page together: the drawing pad feeds predictions, predictions light up the network
// view, the model select chooses which network answers, and a watched training run streams its
// curve, evaluations and live probe results into the panels. Each piece lives in its own module;
// this file only decides who tells whom.

import { NetworkError, patch } from "./api.js";
import { CostChart } from "./chart.js";
import { setupBanner, setupKeys, setupTheme } from "./chrome.js";
import { digitClasses } from "./classes.js";
import { classDrawings } from "./class-drawings.js";
import { ConfusionView } from "./confusion.js";
import { NameChip, lockRunControls, me } from "./identity.js";
import { initDescent } from "./descent.js";
import { DrawPad } from "./draw.js";
import { drawings } from "./drawings-api.js";
import { CorrectionBar } from "./drawings-correct.js";
import { FinetuneButton } from "./drawings-finetune.js";
import { DrawingsPanel } from "./drawings-panel.js";
import { invalidate, measureFps, renderStats } from "./frame.js";
import { Lesson } from "./lesson.js";
import { createMaths } from "./maths.js";
import { ModelControls } from "./model-controls.js";
import { ModelPicker } from "./models.js";
import { NetworkView, argmax } from "./network-view.js";
import { Predictor } from "./prediction.js";
import { RunController } from "./run-controller.js";
import { RecentRuns } from "./runs-list.js";
import { FIRST_MODEL, hooks, state } from "./state.js";
import { TeacherConfig } from "./teacher-config.js";
import { TrainPanel } from "./train-panel.js";
import { UrlState, clip, configParams, linkTheme, restoreConfig, setupCopyLink } from "./url-state.js";
import { vocabulary } from "./vocab.js";
import { WeightsGrid } from "./weights-grid.js";

const $ = (id) => document.getElementById(id);

const pad = new DrawPad($("draw-canvas"), {
  onChange: (why) => {
    correction.changed();
    predictor.drawingChanged(why);
    lesson.update();
  },
  onStroke: () => predictor.strokeMoved(),
});
const netView = new NetworkView($("network-canvas"), {
  onSelect: (sel) => {
    maths.select(sel);
    weightsGrid.select(sel);
  },
});
// A row of the layer matrix selects its neuron: its weights-grid tile is marked too.
const maths = createMaths(netView, { onRowPick: (sel) => weightsGrid.select(sel) });
// A tile of the weights view selects its neuron, as a click on the network would.
const weightsGrid = new WeightsGrid($("weights-view"), {
  onPick: (sel) => {
    netView.select(sel);
    maths.select(sel);
    weightsGrid.select(sel);
  },
});
const lesson = new Lesson($("learn-open"), {
  isEmpty: () => pad.isEmpty(),
  model: () => ({ sizes: netView.sizes, activation: netView.activation, cost: netView.net && netView.net.cost }),
  activations: (layer) => (netView.state && netView.state.activations ? netView.state.activations[layer - 1] : null),
  selectNeuron: (sel) => {
    netView.select(sel);
    maths.select(sel);
    weightsGrid.select(sel);
  },
});
const chart = new CostChart($("cost-chart"), $("chart-tip"), document.querySelector("[data-testid=legend-drawings]"));
// The address follows the page: the selected model or run, the train panel's config, the theme.
const urls = new UrlState({
  selection: () => state.selected,
  config: () => configParams(panel),
  theme: () => document.documentElement.dataset.theme,
});
const chip = new NameChip($("me-chip"));
hooks.descent = initDescent($("descent")); // the gradient-descent toys (window.__nnp.descent)
const confusion = new ConfusionView($("confusion"), { onCell: (r, c) => runs.showCell(r, c) });
const panel = new TrainPanel({
  start: (cfg) => runs.start(cfg),
  pause: () => runs.control("pause"),
  resume: () => runs.control("resume"),
  step: () => runs.control("step"),
  stop: () => runs.control("stop"),
  save: () => runs.save(),
  speed: (bps) => runs.speed(bps),
  learningRate: (lr) => patch(`/api/runs/${state.run.id}`, { learning_rate: lr }),
  message: (text) => runs.message(text),
  changed: () => urls.sync(),
  // Someone else's run: everything but Start disabled, with the reason.
  locked: (b, more) => lockRunControls([b.pause, b.resume, b.step, b.stop, b.save, ...more],
    state.run && state.run.info, $("run-owner")),
});

const predictor = new Predictor(pad, netView, {
  shown: (p) => {
    maths.refresh();
    lesson.update();
    correction.shown(p.digit ?? argmax(p.probabilities), digitClasses());
  },
  cleared: () => {
    maths.cleared(pad.isEmpty());
    correction.hide();
  },
  drawing: (body, gen, upAt) => maths.drawing(body, gen, upAt),
  probe: (body) => runs.probe(body),
  modelGone: () => loadModels(),
  knownLabel: (digit) => maths.knownLabel(digit),
});

const picker = new ModelPicker({
  message: (text) => predictor.message(text),
  runChosen: (sizes, cfg) => {
    controls.show(null);
    netView.setArchitecture(sizes, cfg && cfg.activation);
    weightsGrid.setNetwork(null); // until the run's first weights arrive
    maths.runChosen();
    finetune.update();
    predictor.clear();
    runs.refreshNetwork(true);
    if (!pad.isEmpty()) predictor.predict();
    urls.sync();
  },
  modelChosen: (id, info) => {
    controls.show(info);
    runs.probe(null);
    maths.modelChosen(id);
    finetune.update();
    if (info) netView.setArchitecture(info.sizes, info.activation);
    if (!pad.isEmpty()) predictor.predict();
    urls.sync();
  },
  updated: (info) => controls.show(info), // another tab, learner or the teacher changed it
  network: (id, net) => {
    netView.setNetwork(net);
    weightsGrid.setNetwork(net, id);
    maths.network();
    lesson.update();
  },
});

// The selected model's owner and, where this page may, Shared / Rename / Delete (issue 16).
const controls = new ModelControls($("model-controls"), {
  changed: () => loadModels(),
  deleted: async () => {
    await loadModels();
    await picker.select(firstModel());
    $("model-select").focus(); // the focus was on the Delete that is gone
  },
});

const recent = new RecentRuns({
  open: (id) => runs.open(id),
  save: (id) => runs.save(id),
  remove: (id) => runs.remove(id),
  message: (text) => runs.message(text),
  isPreset: (cfg) => panel.isPreset(cfg),
});

const runs = new RunController({ chart, panel, confusion, netView }, {
  listChanged: () => {
    picker.fill();
    recent.refresh();
  },
  unwatched: () => picker.select(FIRST_MODEL),
  select: (value) => picker.select(value),
  modelsChanged: () => loadModels(),
  probe: (msg) => {
    if (!pad.isEmpty()) predictor.show({ ...msg, input: state.lastInput });
  },
  reprobe: () => {
    if (!pad.isEmpty()) predictor.predict();
  },
  network: (net) => {
    netView.setNetwork(net);
    weightsGrid.setNetwork(net, `run:${state.run.id}`);
    maths.network();
  },
});

// Labelled drawings (issue 17): "Wrong? It's a …" under the prediction, "My drawings", and
// "Fine-tune on my drawings", which starts a run the page then watches like any other.
const correction = new CorrectionBar($("correct"), $("correct-status"), {
  image: () => (pad.isEmpty() || pad.exactPixels() ? null : pad.toDataURL()),
});
new DrawingsPanel($("my-drawings"));
const finetune = new FinetuneButton($("my-drawings"), {
  start: async (cfg) => {
    await runs.start(cfg);
    panel.showConfig(state.run.info.config); // the form shows what the run trains with
  },
  message: (text) => runs.message(text),
});

// The config the teacher pushed to the class, in the train panel (class mode, issue 16).
new TeacherConfig($("teacher-config"), {
  start: (cfg) => runs.start(cfg),
  fill: (cfg) => panel.showConfig(cfg),
  message: (text) => runs.message(text),
});

setupBanner();
setupKeys({ clear: () => pad.clear(), undo: () => pad.undo(), random: () => predictor.randomDigit() });
$("log-scale").addEventListener("change", (e) => chart.setLog(e.target.checked));
$("smoothing").addEventListener("change", (e) => chart.setSmoothing(Number(e.target.value)));
setupCopyLink($("copy-link"), $("link-message"), $("link-fallback"), urls);

Object.assign(hooks, {
  // Simulate a dropped connection (tests): the socket must come back on its own.
  dropRunSocket: () => state.run && state.run.socket && state.run.socket.ws && state.run.socket.ws.close(),
  chartPoints: () => chart.points,
  drawingsTotal: () => drawings.total,
  lastPredictBody: () => predictor.body, // what the page sent for the drawing ({pixels} | {image})
  chartAccuracyAxis: () => chart.accuracyAxis(),
  chartDrawingsPoints: () => chart.drawingsPoints, // evaluations with a drawings accuracy
  runId: () => (state.run ? state.run.id : null),
  link: () => urls.href(), // the address "Copy link" copies
  selected: () => state.selected,
  neuronPoint: (layer, index) => netView.clientPoint(layer, index),
  // The point a fraction t along the drawn line from neuron i of layer − 1 into neuron j.
  connectionPoint: (layer, j, i, t) => netView.connectionPoint(layer, j, i, t),
  weightTilesDrawn: () => weightsGrid.renders,
  // Whose weights every weights tile in view shows: a model id, "run:<id>", or null.
  weightsShown: () => weightsGrid.shown,
  measureFps,
  renderStats: () => JSON.parse(JSON.stringify(renderStats)),
  // True once the answers for the current drawing are shown: the prediction and, for a saved
  // model, its explanation (multi-stroke drawings in tests).
  settled: () => predictor.settled() && maths.settled(),
});
window.__nnp = hooks;

/** Load the model list: the model select, and the train panel's "Continue from" (issue 17). */
async function loadModels() {
  await picker.load();
  const ids = new Set(picker.ids());
  panel.setModels(state.models.filter((m) => ids.has(m.id)).map((m) => ({
    id: m.id, label: `${m.name || m.id} · ${(m.sizes || []).join("-")}`,
  })));
}

/** Class mode: the train panel offers the class dataset only when the teacher pooled some. */
async function loadClassDrawings() {
  if (!(await me()).class_mode) return;
  try {
    panel.setClassDrawings((await classDrawings()).count);
  } catch {
    /* a server without the class dataset: "mine" only */
  }
}

/** The model the page opens on: 3b1b, else the server's default, else the first. */
function firstModel() {
  const ids = state.models.map((m) => m.id);
  return ids.includes(FIRST_MODEL) ? FIRST_MODEL : document.body.dataset.defaultModel || ids[0];
}

async function init() {
  setupTheme(() => {
    netView.relayout();
    weightsGrid.repaint();
    invalidate(chart);
    urls.sync();
  });
  predictor.showEmpty();
  chip.load();
  me().then(() => drawings.load()); // whose drawings are whose, before listing them
  // Back to this tab: another tab (or a script) may have added or changed drawings.
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && drawings.loaded) drawings.load();
  });
  const link = urls.link;
  const notes = [];
  if (link.theme && !linkTheme(link)) notes.push(`theme=${clip(link.theme)}`);
  const presetsLoaded = panel.loadPresets();
  presetsLoaded.then(loadClassDrawings); // the pool select is filled by then
  await me(); // whose runs are whose, before joining one
  // A link to a run joins it (anyone's: watching is for everyone); else this learner's own.
  const fromLink = link.run ? runs.openLink(link.run, presetsLoaded) : Promise.resolve(null);
  let [, , joined] = await Promise.all([loadModels(), presetsLoaded, fromLink]);
  if (link.run && !joined) notes.push(`run ${clip(link.run)} (it no longer exists)`);
  if (!joined) joined = await runs.joinRunning(presetsLoaded);
  notes.push(...restoreConfig(panel, link, (await vocabulary()).choices));
  recent.refresh();
  const ids = picker.ids(); // someone else's unshared model is not one to open
  if (link.model && !ids.includes(link.model)) notes.push(`model ${clip(link.model)} (not available here)`);
  const first = ids.includes(link.model) ? link.model : firstModel();
  // A joined run answers the drawing, as when this tab started it.
  if (joined && !(link.model && ids.includes(link.model))) await picker.select(`run:${joined}`);
  else if (first) await picker.select(first);
  lesson.resume(); // a link or a reload with #learn=N
  if (notes.length) $("link-message").textContent = `Ignored from the link: ${notes.join(", ")}.`;
  urls.start();
  hooks.ready = true;
}

init().catch((err) => {
  if (!(err instanceof NetworkError)) console.warn(err);
  lesson.resume();
  urls.start();
  hooks.ready = true;
});
