// Asks POST /api/explain about the current drawing and keeps the latest answer for the maths
// panels (neuron arithmetic, layer matrix, cost, nudges). At most one request is in flight; the
// newest drawing or label goes next (a finished stroke at once: a mid-stroke drawing's request
// in flight is dropped for it). The test-set average cost is fetched once per model.

import { describeError, post } from "./api.js";

export const AVERAGE_SAMPLE = 10000; // the whole MNIST test set, as in the video
const AVERAGE_SEED = 0; // the same digits every time, so the number is stable per model

export class Explainer {
  /**
   * onChange(explanation | null, error | null) after every answer or clear; grads() → the
   * grad_weights to ask for (rows of ∂C/∂W, for the nudges).
   */
  constructor(onChange, grads = () => []) {
    this.onChange = onChange;
    this.grads = grads;
    this.want = null; // {body, model, gen, upAt}
    this.label = null; // the user's label, or null to follow the prediction
    this.current = null; // {body, model, label, gen, upAt, res}
    this.answered = null; // the want of the last answer (or error) shown
    this.flight = null; // the request in flight: {want, label, abort}
    this.again = false;
    this.averages = new Map(); // model → Promise of the batch explanation
  }

  /**
   * A new drawing (body as sent to predict) for `model`; gen orders answers; upAt is the
   * pointer-up it answers (0 mid-stroke), for timing.
   */
  request(body, model, gen, upAt = 0) {
    this.want = { body, model, gen, upAt };
    this.send();
  }

  /** True when the answer for the newest drawing and label is shown (or nothing is wanted). */
  settled() {
    return !this.flight && !this.again && (!this.want || this.answered === this.want);
  }

  /** The user's label (0..9), or null to measure the cost against the prediction. */
  setLabel(label) {
    this.label = label;
    if (this.want) this.send();
  }

  /** Ask again for the same drawing (e.g. the nudges now want ∂C/∂W). */
  refresh() {
    if (this.want) this.send();
  }

  /** The drawing is gone, or no model can explain it (a training run is selected). */
  clear() {
    this.want = null;
    this.current = null;
    this.onChange(null, null);
  }

  /** Send the newest want, or mark it to go when the answer in flight is back. */
  send() {
    const want = this.want;
    if (!want) return;
    if (this.flight) {
      // A finished stroke doesn't wait for a mid-stroke drawing's (stale) answer.
      if (!want.upAt || this.flight.want.upAt || this.flight.want === want) {
        this.again = true;
        return;
      }
      this.flight.abort.abort();
    }
    this.again = false;
    this.ask({ want, label: this.label, abort: new AbortController() });
  }

  async ask(flight) {
    this.flight = flight;
    const { want, label } = flight;
    const req = { ...want.body, model: want.model, grad_weights: this.grads() };
    if (label !== null) req.label = label;
    try {
      const res = await post("/api/explain", req, { signal: flight.abort.signal });
      if (this.want === want && this.label === label) {
        this.current = { ...want, label, res };
        this.answered = want;
        this.onChange(this.current, null);
      }
    } catch (err) {
      if (err.name !== "AbortError" && this.want === want) {
        this.answered = want;
        this.onChange(null, describeError(err));
      }
    } finally {
      if (this.flight === flight) {
        this.flight = null;
        if (this.again || (this.want && this.want !== want) || this.label !== label) this.send();
      }
    }
  }

  /** The model's mean cost over AVERAGE_SAMPLE test digits (cached per model). */
  average(model) {
    if (!this.averages.has(model)) {
      const p = post("/api/explain", { model, batch: { source: "test", size: AVERAGE_SAMPLE, seed: AVERAGE_SEED } });
      p.catch(() => this.averages.delete(model)); // try again next time
      this.averages.set(model, p);
    }
    return this.averages.get(model);
  }
}
