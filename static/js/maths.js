// Wires the maths panels of the drawing together: one /api/explain answer (Explainer) feeds
// the neuron's arithmetic, the layer matrix, the cost of this example and the nudges; the
// cost's digit picker sets the label they all use.

import { CostPanel } from "./cost-panel.js";
import { DreamsPanel } from "./dreams.js";
import { Explainer } from "./explainer.js";
import { LayerView } from "./layer-view.js";
import { NeuronDetail } from "./neuron-detail.js";
import { Nudges } from "./nudges.js";
import { answeringModel, hooks, onRun, state } from "./state.js";
import { outputKind } from "./vocab.js";

const $ = (id) => document.getElementById(id);

/** `onRowPick(sel)`: a row of the layer matrix selected that neuron (the page marks it
 * everywhere else, e.g. its tile in the weights grid). */
export function createMaths(netView, { onRowPick = () => {} } = {}) {
  const kinds = {
    kind: () => netView.activation,
    outputKind: () => outputKind(netView.net && netView.net.cost) || "sigmoid",
  };
  // The explanation of the drawing now shown, if it is of the model now selected (a run
  // can't be explained); null while the answer for a newer drawing is on its way.
  const explained = () => {
    const cur = explainer.current;
    const fresh = cur && explainer.want && cur.gen === explainer.want.gen;
    return fresh && !onRun() && state.selected && cur.res.model === state.selected.id ? cur.res : null;
  };
  const explainer = new Explainer(() => {
    hooks.explains++;
    const res = explained();
    detail.refresh();
    layer.update();
    cost.show(res, onRun() ? "The maths panels explain a saved model: pick one in the Model list." : undefined);
    nudges.show(res);
    // Time pointer-up → painted for the explanation of that stroke's drawing.
    const upAt = res ? explainer.current.upAt : 0;
    if (upAt && upAt === hooks.pointerUpAt && performance.now() - upAt < 5000) {
      hooks.pointerUpAt = null;
      requestAnimationFrame(() => requestAnimationFrame(() => {
        hooks.lastExplainPaintMs = performance.now() - upAt;
      }));
    }
  }, () => nudges.gradRequest(netView.sizes));
  const detail = new NeuronDetail($("neuron-detail"), { describe: (sel) => netView.describe(sel), explained, ...kinds });
  const layer = new LayerView(
    { network: () => netView.net, state: () => netView.state, ...kinds },
    {
      onRow: (l, j) => {
        netView.select({ layer: l, index: j });
        detail.select({ layer: l, index: j });
        onRowPick({ layer: l, index: j });
      },
    },
  );
  const cost = new CostPanel((label) => {
    nudges.reset();
    explainer.setLabel(label);
  });
  const dreams = new DreamsPanel();
  const nudges = new Nudges(netView, {
    mode: () => {
      nudges.show(explained());
      explainer.refresh();
      detail.refresh(); // the neuron's panel shows its nudges, or its arithmetic again
    },
    refetch: () => explainer.refresh(),
    model: () => (state.selected && state.selected.kind === "model" ? state.selected.id : undefined),
    body: () => {
      const res = explained();
      const cur = explainer.current;
      return res ? { body: cur.body, model: res.model, label: res.label, quadratic: res.cost_function === "quadratic" } : null;
    },
  });
  return {
    select: (sel) => {
      detail.select(sel);
      layer.selectNeuron(sel);
    },
    // A prediction (or a run's probe) is shown: z and a are known before the explanation.
    refresh: () => {
      detail.refresh();
      layer.update();
    },
    drawing: (body, gen, upAt) => {
      nudges.reset();
      if (onRun()) explainer.clear();
      else explainer.request(body, answeringModel(), gen, upAt);
    },
    /** The label of the test digit on the pad (null: a drawing, whose label nobody knows). */
    knownLabel: (digit) => cost.known(digit),
    /** True once the explanation of the newest drawing is shown (or none is asked for). */
    settled: () => explainer.settled(),
    cleared: (empty) => {
      explainer.clear();
      if (empty) cost.reset();
      detail.refresh();
    },
    modelChosen: (id) => {
      cost.loadAverage(explainer.average(id), () => state.selected.id === id);
      nudges.modelChanged();
      dreams.model(id);
    },
    runChosen: () => {
      cost.noAverage();
      dreams.run();
    },
    network: () => {
      detail.refresh();
      layer.update();
    },
  };
}
