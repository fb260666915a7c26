// The page's shared state: which network answers the drawing, the run being watched, and the
// measurement hooks the e2e tests and bench/page_bench.py read (window.__nnp). Controllers
// read and write these fields; main.js decides who tells whom.

export const FIRST_MODEL = "3b1b"; // few enough neurons to see each one: the page opens on it

export const state = {
  models: [], // ModelInfo list from /api/models
  selected: null, // {kind: "model"|"run", id}
  run: null, // {id, info, socket}: info is the server's RunInfo, whose status is the one copy
  lastInput: null, // 784 values the server saw for the current drawing
};

/** The model that answers predictions: the selected one, or (while a run is selected) 3b1b. */
export function answeringModel() {
  const s = state.selected;
  if (s && s.kind === "model") return s.id;
  if (s && s.kind === "run") {
    return state.models.some((m) => m.id === FIRST_MODEL) ? FIRST_MODEL : document.body.dataset.defaultModel;
  }
  return undefined;
}

/** The watched run's status as the server last said it (null: no run watched). */
export const runStatus = () => (state.run && state.run.info ? state.run.info.status : null);

export const onRun = () => Boolean(state.selected && state.selected.kind === "run");

// Measurement hooks; main.js adds the ones that need components.
export const hooks = {
  ready: false,
  lastPredictLatencyMs: null, // pointer up → prediction text in the DOM
  lastPredictPaintMs: null, // pointer up → the next animation frame after that (painted)
  predictLatencies: [],
  predictions: 0,
  probes: 0,
  metricsMessages: 0,
  snapshots: 0,
  explains: 0, // answers of /api/explain shown (or cleared) in the maths panels
  pointerUpAt: null, // the stroke the last prediction answered
  lastExplainPaintMs: null, // pointer up → the maths panels painted with its explanation
};
