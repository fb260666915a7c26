// The recent runs list under the training panel: the learner's own runs (GET /api/runs?mine=1;
// in class mode "everyone's" lists all), newest first, with its status, owner, a config summary
// and its best test accuracy; each can be opened (watched), saved as a model or deleted (someone
// else's: disabled, with the reason), and ticked to compare (/compare?runs=a,b).

import { describeError, get } from "./api.js";
import { pct } from "./fmt.js";
import { controlBlock, me, othersRun } from "./identity.js";
import { state } from "./state.js";
import { label, sizesFor, vocabulary } from "./vocab.js";

const $ = (id) => document.getElementById(id);
const SHOWN = 8; // the newest runs listed
const POLL_MS = 10000; // runs started elsewhere (another tab, the API) show up within this

/** "3b1b · 784-16-16-10 · sigmoid · momentum, rate 0.5 (cosine) · 60 epochs"; an edited
 * preset is "custom (from 3b1b)". isPreset(cfg): the config is its preset's, unedited. */
export function summary(cfg, isPreset = () => true) {
  if (!cfg) return "";
  const parts = [];
  if (cfg.preset) parts.push(isPreset(cfg) === false ? `custom (from ${cfg.preset})` : cfg.preset);
  const sizes = sizesFor(cfg.layers);
  if (sizes) parts.push(sizes.join("-"));
  if (cfg.activation) parts.push(label(cfg.activation));
  const sched = cfg.lr_schedule && cfg.lr_schedule !== "constant" ? ` (${label(cfg.lr_schedule)})` : "";
  if (cfg.optimizer) parts.push(`${label(cfg.optimizer)}, rate ${cfg.learning_rate}${sched}`);
  if (cfg.epochs) parts.push(`${cfg.epochs} epoch${cfg.epochs === 1 ? "" : "s"}`);
  return parts.join(" · ");
}

export class RecentRuns {
  /** on: {open(id), save(id), remove(id), message(text)}, each returning a promise, and
   * isPreset(config) → whether a run's config is its preset's, unedited. */
  constructor(on) {
    this.on = on;
    this.pending = null;
    this.again = false;
    this.picked = new Set(); // run ids ticked to compare
    $("recent-refresh").addEventListener("click", () => this.refresh());
    $("recent-scope").addEventListener("change", () => this.refresh());
    setInterval(() => {
      if (document.visibilityState === "visible") this.refresh();
    }, POLL_MS);
  }

  /** Reload the list; calls while one is under way coalesce into one more. */
  refresh() {
    if (this.pending) {
      this.again = true;
      return this.pending;
    }
    this.pending = this.load()
      .catch(() => {
        /* the banner tells the story; the list stays as it was */
      })
      .finally(() => {
        this.pending = null;
        if (this.again) {
          this.again = false;
          this.refresh();
        }
      });
    return this.pending;
  }

  async load() {
    const who = await me();
    const scope = $("recent-scope");
    scope.hidden = !who.class_mode;
    const everyone = who.class_mode && scope.querySelector("input").checked;
    const [data, vocab] = await Promise.all([get(everyone ? "/api/runs" : "/api/runs?mine=1"), vocabulary()]);
    const runs = (data.runs || []).filter((r) => everyone || !othersRun(r, who));
    runs.sort((a, b) => String(b.created).localeCompare(String(a.created)));
    const shown = runs.slice(0, SHOWN);
    this.render(shown, runs.length, vocab);
    this.showCompare(new Set(runs.map((r) => r.id)));
  }

  /** The "Compare" link: the ticked runs still listed, as /compare?runs=a,b. */
  showCompare(listed) {
    for (const id of [...this.picked]) if (!listed.has(id)) this.picked.delete(id);
    const a = $("recent-compare");
    const ids = [...this.picked];
    a.href = ids.length ? `/compare?runs=${ids.map(encodeURIComponent).join(",")}` : "/compare";
    a.textContent = ids.length ? `Compare ${ids.length} run${ids.length === 1 ? "" : "s"}` : "Compare runs";
  }

  render(runs, total, vocab) {
    const list = $("recent-runs");
    if (!runs.length) {
      const li = document.createElement("li");
      li.className = "muted small";
      li.textContent = "No runs yet.";
      list.replaceChildren(li);
      return;
    }
    const items = runs.map((r) => this.item(r, vocab));
    if (total > runs.length) {
      const li = document.createElement("li");
      li.className = "muted small";
      li.textContent = `and ${total - runs.length} older`;
      items.push(li);
    }
    list.replaceChildren(...items);
  }

  item(r, vocab) {
    const li = document.createElement("li");
    li.className = "recent-run";
    li.dataset.testid = "recent-run";
    li.dataset.runId = r.id;
    li.dataset.status = r.status;
    const watched = state.run && state.run.id === r.id;
    li.classList.toggle("watched", Boolean(watched));
    const head = document.createElement("div");
    head.className = "recent-line";
    const status = document.createElement("strong");
    status.className = "status";
    status.dataset.status = r.status;
    status.textContent = r.status;
    const id = document.createElement("span");
    id.className = "muted small";
    id.textContent = r.id;
    const best = r.best_test_accuracy; // the server's, in GET /api/runs
    const acc = document.createElement("span");
    acc.dataset.testid = "recent-acc";
    const has = typeof best === "number";
    acc.className = has ? "recent-acc" : "recent-acc muted small";
    acc.textContent = has ? `best test acc. ${pct(best, 2)}` : "no evaluation yet";
    head.append(status, id, acc);
    if (r.owner_name && othersRun(r)) {
      const owner = document.createElement("span");
      owner.className = "small recent-owner";
      owner.dataset.testid = "recent-owner";
      owner.textContent = r.owner_name; // user-controlled text: never markup
      head.append(owner);
    }
    const cfg = document.createElement("div");
    cfg.className = "small recent-cfg";
    cfg.textContent = summary(r.config, this.on.isPreset);
    const saved = r.model_id ? " · saved" : "";
    const trained = r.status !== "queued" && r.status !== "downloading";
    const buttons = document.createElement("div");
    buttons.className = "recent-buttons";
    const why = controlBlock(r); // someone else's run: watch it, don't touch it
    const save = this.button(r.model_id ? "Saved" : "Save", "save", r.id, !trained || Boolean(r.model_id) || Boolean(why));
    const remove = this.button(vocab.live.has(r.status) ? "Stop & delete" : "Delete", "remove", r.id, Boolean(why));
    if (why) save.title = remove.title = why;
    buttons.append(this.button(watched ? "Watching" : "Open", "open", r.id, watched), save, remove, this.pick(r.id));
    if (saved) cfg.textContent += saved;
    li.append(head, cfg, buttons);
    return li;
  }

  /** A "compare" tick box for one run. */
  pick(id) {
    const label = document.createElement("label");
    label.className = "small recent-pick";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.dataset.testid = "recent-pick";
    box.checked = this.picked.has(id);
    box.addEventListener("change", () => {
      if (box.checked) this.picked.add(id);
      else this.picked.delete(id);
      this.showCompare(new Set([...this.picked, id]));
    });
    label.append(box, " compare");
    return label;
  }

  button(text, action, id, disabled) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "small";
    b.textContent = text;
    b.disabled = disabled;
    b.dataset.action = action;
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        await this.on[action](id);
      } catch (err) {
        this.on.message(describeError(err));
      } finally {
        this.refresh();
      }
    });
    return b;
  }
}
