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

/** {statuses, live, choices: {activation, cost, optimizer, lr_schedule}}, fetched once from
 * GET /api/vocabulary (the server's one declaration of each). */
export function vocabulary() {
  if (!loaded) {
    loaded = get("/api/vocabulary").then((v) => ({
      statuses: v.statuses,
      live: new Set(v.live_statuses),
      choices: v.choices,
    }));
    loaded.catch(() => {
      loaded = null; // try again next time
    });
  }
  return loaded;
}
