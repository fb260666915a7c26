// The class dataset (issue 17 §1, class mode): on the teacher's dashboard (/class) a small
// control that pools every learner's current drawings into it (POST /api/class/drawings, a
// snapshot) or empties it, showing how many it holds and when it was pooled; for the learners'
// page, classDrawings() reads its summary so the train panel offers "the class's" drawings
// only when there are some. On the dashboard this module builds its control inside
// #class-drawings (templates/class.html's hook); elsewhere it only exports.

import { describeError, get, post, request } from "./api.js";
import { count } from "./fmt.js";

/** The class dataset's summary {count, counts, pooled_at} (count 0 and pooled_at null when it
 * is empty). */
export const classDrawings = () => get("/api/class/drawings");

/** "143 drawings, pooled at 14:02 · per digit 0: 12 · 1: 15 · …", or what to do when there are none. */
export function describePool(summary) {
  if (!summary || !summary.count) return "Empty: nobody's drawings are pooled yet.";
  const when = summary.pooled_at ? new Date(summary.pooled_at * 1000) : null;
  const at = when ? `, pooled at ${when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}` : "";
  const per = Object.entries(summary.counts || {})
    .filter(([, n]) => n)
    .map(([label, n]) => `${label}: ${n}`)
    .join(" · ");
  return `${count(summary.count)} drawing${summary.count === 1 ? "" : "s"}${at}${per ? ` · per digit ${per}` : ""}`;
}

class PoolControl {
  constructor(root) {
    const el = (tag, attrs, text) => {
      const e = document.createElement(tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
      if (text) e.textContent = text;
      return e;
    };
    const h = el("h2", { id: "class-drawings-h" }, "The class's drawings");
    const about = el("p", { class: "muted small" },
      "Pool every learner's labelled drawings into one class dataset (a snapshot: drawings made later need another pool). Learners can then train on it: “Whose drawings: the class's” in their train panel.");
    this.summary = el("p", { class: "small", "data-testid": "class-drawings-summary" }, "Loading…");
    this.pool = el("button", { type: "button", class: "primary", "data-testid": "class-drawings-pool" }, "Pool the class's drawings");
    this.clear = el("button", { type: "button", class: "ghost", "data-testid": "class-drawings-clear" }, "Empty it");
    const buttons = el("div", { class: "class-drawings-buttons" });
    buttons.append(this.pool, this.clear);
    this.status = el("p", { class: "small", role: "status", "data-testid": "class-drawings-status" });
    root.setAttribute("aria-labelledby", "class-drawings-h");
    root.replaceChildren(h, about, this.summary, buttons, this.status);
    this.pool.addEventListener("click", () => this.act("POST", "Pooled"));
    this.clear.addEventListener("click", () => this.act("DELETE", "Emptied"));
    this.load();
  }

  async load() {
    try {
      this.show(await classDrawings());
    } catch (err) {
      this.summary.textContent = `Couldn't read the class dataset: ${describeError(err)}`;
    }
  }

  show(summary) {
    this.summary.textContent = describePool(summary);
    this.clear.disabled = !(summary && summary.count);
  }

  async act(method, done) {
    this.pool.disabled = true;
    this.clear.disabled = true;
    this.status.textContent = "";
    try {
      const summary = method === "POST" ? await post("/api/class/drawings") : await request("DELETE", "/api/class/drawings");
      if (summary) this.show(summary);
      else await this.load();
      this.status.textContent = `${done}: ${this.summary.textContent}`;
    } catch (err) {
      this.status.textContent = `Not done: ${describeError(err)}`;
      await this.load();
    } finally {
      this.pool.disabled = false;
    }
  }
}

const root = document.getElementById("class-drawings");
if (root) new PoolControl(root);
