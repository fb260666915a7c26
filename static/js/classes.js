// The names of the outputs of the network on show (issue 17 §3): "0" … "9" for an MNIST model,
// "T-shirt/top", "Trouser", … for a Fashion-MNIST one. A model's come with it (ModelInfo's
// class_names); a watched run's from its dataset's entry in the server's vocabulary. The
// network view, the prediction and the confusion matrix ask here rather than print the index.

import { answeringModel, onRun, state } from "./state.js";
import { loadedVocabulary } from "./vocab.js";

const DIGITS = Array.from({ length: 10 }, (_, i) => String(i));

/** The class names of the watched run (while one is selected) or of the answering model. */
export function classNames() {
  if (onRun()) {
    const cfg = state.run && state.run.info && state.run.info.config;
    const vocab = loadedVocabulary();
    const entry = cfg && vocab && (vocab.datasets || []).find((d) => d.name === cfg.dataset);
    if (entry) return entry.class_names;
    return DIGITS;
  }
  const id = answeringModel() || document.body.dataset.defaultModel;
  const model = state.models.find((m) => m.id === id);
  return (model && model.class_names) || DIGITS;
}

/** The dataset of the watched run (while one is selected) or of the answering model, as its
 * registry entry in the server's vocabulary ({name, title, class_names}); MNIST's when none
 * is recorded. The page's "Random test digit" comes from its test set. */
export function classDataset() {
  let name = "mnist";
  if (onRun()) {
    const cfg = state.run && state.run.info && state.run.info.config;
    name = (cfg && cfg.dataset) || name;
  } else {
    const id = answeringModel() || document.body.dataset.defaultModel;
    const model = state.models.find((m) => m.id === id);
    name = (model && model.dataset) || name;
  }
  const vocab = loadedVocabulary();
  const entry = vocab && (vocab.datasets || []).find((d) => d.name === name);
  return entry || { name, title: name === "mnist" ? "MNIST" : name, class_names: DIGITS };
}

/** The name of output `i` ("7", or "Sneaker"). */
export const className = (i) => {
  const names = classNames();
  return names[i] !== undefined ? names[i] : String(i);
};

/** Whether the outputs are digits (their names are then their numbers). */
export const digitClasses = () => classNames().every((n, i) => n === String(i));
