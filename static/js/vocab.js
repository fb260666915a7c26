// The server's vocabulary, read from the API instead of repeated here: the run statuses and
// the training config's choices come from /openapi.json (whose RunInfo and RunCreate enums the
// server generates from its one declaration, app/nn/protocol.py and the config's choices);
// the presets and limits come from /api/presets (train-panel.js). One route for each kind.

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

/** An enum of a schema property, without its `null` ("not given"). */
function choicesOf(schema, name) {
  const prop = (schema && schema.properties && schema.properties[name]) || {};
  return (prop.enum || []).filter((v) => v !== null);
}

let loaded = null;

/**
 * {statuses, live, choices: {activation, cost, optimizer, lr_schedule}}, fetched
 * once. `live` are the statuses before the first ended one ("finished") in the declared
 * lifecycle order (queued → downloading → running ⇄ paused → ended).
 */
export function vocabulary() {
  if (!loaded) {
    loaded = get("/openapi.json").then((api) => {
      const schemas = api.components.schemas;
      const statuses = choicesOf(schemas.RunInfo, "status");
      const ended = statuses.indexOf("finished");
      const choices = {};
      for (const f of ["activation", "cost", "optimizer", "lr_schedule"]) choices[f] = choicesOf(schemas.RunCreate, f);
      return {
        statuses,
        live: new Set(ended >= 0 ? statuses.slice(0, ended) : statuses),
        choices,
      };
    });
    loaded.catch(() => {
      loaded = null; // try again next time
    });
  }
  return loaded;
}
