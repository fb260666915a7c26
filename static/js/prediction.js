// The drawing → prediction loop: at most one /api/predict in flight (the latest drawing goes
// next), the answer shown as a digit, a confidence and the 28×28 the network saw, and the
// network view lit up. It runs while the stroke is drawn too, as fast as the server answers:
// when an answer comes back, the drawing as it is by then goes next. Each request's drawing
// goes to the maths panels at the same time (drawing()), so /api/explain runs in parallel
// with /api/predict. While a training run is selected the run's socket answers (a probe) and
// this only fetches what the server saw.

import { ApiError, describeError, get, post } from "./api.js";
import { className, classDataset } from "./classes.js";
import { drawDigit } from "./draw.js";
import { argmax } from "./network-view.js";
import { num, pct } from "./fmt.js";
import { answeringModel, hooks, onRun, state } from "./state.js";
import { outputKind } from "./vocab.js";

const $ = (id) => document.getElementById(id);
// A stroke is predicted while drawn once it is this long (pad units): a first dab of ink
// would only be "too little ink to be a digit".
const LIVE_MIN_EXTENT = 0.05;

export class Predictor {
  /**
   * pad: DrawPad; netView: NetworkView; on: {shown(p), cleared(), drawing(body, gen, upAt),
   * probe(body | null), modelGone(), knownLabel(digit | null)}; drawing() is told each drawing as it is sent (upAt: the
   * pointer-up it answers, or 0 mid-stroke).
   */
  constructor(pad, netView, on) {
    this.pad = pad;
    this.netView = netView;
    this.on = on;
    this.debounce = null;
    this.flight = null; // the request in flight: {gen, upAt, abort}
    this.again = false;
    this.gen = 0; // bumps on every drawing change: stale answers are ignored
    this.answeredGen = -1; // the gen of the last answer shown
    this.lastAnnounced = null;
    this.body = null; // what was sent for the current drawing ({pixels} or {image})
    this.known = null; // the label of the MNIST test digit on the pad, if one is
  }

  /** True once the answer for the current drawing is shown. */
  settled() {
    return !this.flight && !this.again && this.answeredGen === this.gen;
  }

  /** The drawing changed; why = "stroke" when a stroke just ended (pointer up). */
  drawingChanged(why) {
    this.gen++;
    clearTimeout(this.debounce);
    // A stroke on a test digit makes it a drawing: its known label no longer holds.
    if (why === "stroke" && this.known !== null) {
      this.known = null;
      this.on.knownLabel(null);
    }
    if (this.pad.isEmpty()) {
      this.body = null;
      this.showEmpty();
      this.on.probe(null);
      return;
    }
    // The end of a stroke goes at once; a short debounce merges other bursts (undo held
    // down) into one request.
    if (why === "stroke") this.predict();
    else this.debounce = setTimeout(() => this.predict(), 12);
  }

  /** The stroke being drawn grew: predict it now, or when the answer in flight is back. */
  strokeMoved() {
    if (this.pad.extent() < LIVE_MIN_EXTENT) return;
    this.gen++;
    this.predict();
  }

  /**
   * Ask about the drawing as it is now. One request in flight: a newer drawing waits for the
   * answer and then goes (the latest one only). The exception is the end of a stroke while a
   * mid-stroke drawing is in flight: that answer is stale already, so it is dropped (aborted)
   * and the finished drawing goes at once.
   */
  predict() {
    if (this.pad.isEmpty()) return;
    const upAt = this.pad.isDrawing() ? 0 : this.pad.lastPointerUp;
    if (this.flight) {
      if (!upAt || this.flight.upAt) {
        this.again = true;
        return;
      }
      this.flight.abort.abort();
    }
    this.again = false;
    this.ask({ gen: this.gen, upAt, abort: new AbortController() });
  }

  async ask(flight) {
    this.flight = flight;
    const { gen, upAt } = flight;
    const exact = this.pad.exactPixels();
    const body = exact ? { pixels: exact } : { image: this.pad.toDataURL() };
    this.body = body;
    const running = onRun();
    if (running) this.on.probe(body);
    if (upAt) hooks.pointerUpAt = upAt; // the maths panels time their answer from here too
    // The maths panels ask about the same drawing now, in parallel: one round trip after the
    // pointer lifts, not two.
    this.on.drawing(body, gen, upAt);
    try {
      const include = running ? ["input"] : ["input", "activations", "zs"];
      const req = { ...body, model: answeringModel(), include };
      const res = await post("/api/predict", req, { signal: flight.abort.signal });
      if (gen !== this.gen && this.pad.isEmpty()) return;
      state.lastInput = res.input || null;
      drawDigit($("seen-canvas"), state.lastInput);
      if (!running) {
        this.show(res);
        this.measure(upAt);
      } else {
        this.netView.setState({ ...(this.netView.state || {}), input: state.lastInput });
      }
      this.message("");
    } catch (err) {
      // Dropped for a newer drawing, or a newer one is on its way (mid-stroke): its answer,
      // not this error, counts.
      if (err.name !== "AbortError" && gen === this.gen) await this.failed(err, running);
    } finally {
      if (this.flight === flight) {
        this.flight = null;
        this.answeredGen = gen;
        if (this.again) this.predict();
      }
    }
  }

  async failed(err, running) {
    if (err instanceof ApiError && err.status === 422) {
      // Too little ink to read (the server counts it): say what to do, not "empty" beside a
      // count of pixels.
      this.clear();
      const ink = typeof err.detail === "string" && /\bink\b|empty/i.test(err.detail);
      this.message(ink ? "Too little ink to read a digit yet: draw it bigger." : describeError(err));
    } else if (err instanceof ApiError && err.status === 404 && !running) {
      this.message(`The model “${state.selected.id}” is gone; pick another one.`);
      await this.on.modelGone();
    } else if (err instanceof ApiError && err.status === 403 && !running) {
      // Its owner stopped sharing it (class mode): the server says so; the list drops it.
      this.message(describeError(err));
      await this.on.modelGone();
    } else {
      this.message(describeError(err));
    }
  }

  measure(upAt) {
    if (!upAt) return;
    const ms = performance.now() - upAt;
    // Only a prediction that answers a fresh stroke counts (not a model switch re-predict).
    if (ms > 5000) return;
    this.pad.lastPointerUp = 0;
    hooks.lastPredictLatencyMs = ms;
    hooks.predictLatencies.push(ms);
    requestAnimationFrame(() => {
      hooks.lastPredictPaintMs = performance.now() - upAt;
    });
  }

  /** Show a prediction: from /api/predict, or a training run's probe. */
  show(p) {
    hooks.predictions++;
    const digit = p.digit ?? argmax(p.probabilities);
    const sure = p.note ? { text: "only a guess", title: p.note.message } : this.sureness(p, digit);
    $("prediction").textContent = className(digit); // "7", or "Sneaker" (issue 17 §3)
    $("confidence").textContent = sure.text;
    $("confidence").title = sure.title;
    this.showNote(p.note || null);
    if (digit !== this.lastAnnounced) {
      this.lastAnnounced = digit;
      $("announce").textContent = `The network thinks it's a ${className(digit)}: ${sure.text}.`;
    }
    this.netView.setState({
      input: p.input || state.lastInput,
      activations: p.activations || null,
      zs: p.zs || null,
      probabilities: p.probabilities,
    });
    this.on.shown(p);
  }

  /**
   * What the number beside the digit is, in words: softmax outputs are probabilities; sigmoid
   * outputs are each 0…1 on their own, so the brightest output is shown as itself (not its
   * share of the sum), and when every output is dark the network is said not to be sure.
   */
  sureness(p, digit) {
    const outputs = p.activations ? p.activations[p.activations.length - 1] : null;
    const kind = outputKind(this.netView.net && this.netView.net.cost);
    if (kind === "softmax") {
      const prob = p.probabilities[digit];
      return { text: `${pct(prob)} probability`, title: "Softmax outputs add up to 1: this is the probability the network gives this digit." };
    }
    if (outputs) {
      const top = outputs[digit];
      const title = "Each output is a sigmoid between 0 and 1, not a probability; the brightest of the ten is the answer.";
      if (top < 0.5) return { text: `not sure: every output is low (brightest ${num(top)} of 1)`, title };
      return { text: `brightest output ${num(top)} of 1`, title };
    }
    return { text: `${pct(p.probabilities[digit])} of the outputs' total`, title: "This output's share of the ten outputs' sum." };
  }

  // The server's "can't really read this" note; the digit is then marked as a guess.
  showNote(note) {
    const el = $("prediction-note");
    el.textContent = note ? note.message : "";
    el.hidden = !note;
    $("prediction").classList.toggle("guess", Boolean(note));
  }

  clear() {
    this.showNote(null);
    $("prediction").textContent = "";
    $("confidence").textContent = "";
    this.lastAnnounced = null;
    this.netView.setState(null);
    this.on.cleared();
  }

  showEmpty() {
    this.clear();
    state.lastInput = null;
    drawDigit($("seen-canvas"), null);
    $("digit-label").textContent = "";
    $("announce").textContent = "";
    this.message("Draw a digit from 0 to 9 in the black box.");
  }

  message(text) {
    const el = $("draw-message");
    if (el.textContent !== text) el.textContent = text;
  }

  async randomDigit() {
    // From the test set of the selected model's (or run's) dataset: MNIST, Fashion-MNIST, …
    const dataset = classDataset();
    const what = dataset.name === "mnist" ? "digit" : "image";
    this.message(`Fetching a test ${what}…`);
    try {
      // MNIST is the server's default: its URL stays the plain one (a route others may match)
      const query = dataset.name === "mnist" ? "" : `?dataset=${encodeURIComponent(dataset.name)}`;
      const d = await get(`/api/digits/random${query}`);
      this.pad.setPixels(d.pixels);
      $("digit-label").textContent = `${dataset.title} test ${what} #${d.index}, labelled ${d.class_name}`;
      this.known = d.label;
      this.on.knownLabel(d.label);
    } catch (err) {
      this.message(`No test digit: ${describeError(err)}`);
    }
  }
}
