// The server's vocabulary, read from the API instead of repeated here: the run statuses (and
// which are live) and the training config's choices come from GET /api/vocabulary, which reads
// their one declaration (app/nn/protocol.py, app/nn/*); the presets and limits come from
// /api/presets (train-panel.js). One route for each kind.

import { get } from "./api.js";

// Display names only (an unknown value shows as itself); the choices are the server's.
const LABELS = {
  relu: "ReLU",
  cross_entropy: "cross-entropy",
  sgd: "SGD",
  adam: "Adam",
  onecycle: "one-cycle",
};

export const label = (value) => LABELS[value] || String(value).replace(/_/g, " ");

let loaded = null;
let known = null; // the vocabulary once loaded, for code that cannot wait

/**
 * {statuses, live, choices: {activation, cost, optimizer, lr_schedule, dataset}, inputSize,
 * outputSize, outputForCost: {cost → "sigmoid" | "softmax"}, datasets: [{name, title,
 * class_names}]}, fetched once from GET /api/vocabulary (the
 * server's one declaration of each).
 */
export function vocabulary() {
  if (!loaded) {
    loaded = get("/api/vocabulary").then((v) => {
      known = {
        statuses: v.statuses,
        live: new Set(v.live_statuses),
        choices: v.choices,
        inputSize: v.input_size,
        outputSize: v.output_size,
        outputForCost: v.output_for_cost || {},
        datasets: v.datasets || [], // [{name, title, class_names}] (issue 17 §3)
      };
      return known;
    });
    loaded.catch(() => {
      loaded = null; // try again next time
    });
  }
  return loaded;
}

/** The vocabulary if it has loaded, else null. */
export const loadedVocabulary = () => known;

/** A run's layer sizes from its config's hidden layers: [inputs, ...hidden, outputs] (null
 * until the vocabulary is known). */
export function sizesFor(hidden) {
  if (!known || !hidden) return null;
  return [known.inputSize, ...hidden, known.outputSize];
}

/** The output layer of a network trained with `cost`: "sigmoid" | "softmax" (null: not known). */
export function outputKind(cost) {
  return (known && cost && known.outputForCost[cost]) || null;
}

/** The number of weights and biases of a network of these layer sizes: Σ n_in·n_out + n_out. */
export function parameterCount(sizes) {
  let n = 0;
  for (let l = 1; l < sizes.length; l++) n += sizes[l - 1] * sizes[l] + sizes[l];
  return n;
}
