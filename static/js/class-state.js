// The teacher's picture of the class, kept from the feed's messages: every run's summary with
// its small curve, the leaderboard and the pushed config. A `snapshot` replaces it all, an
// `update` changes what it names (see app/api/class_board.py for the shapes).

export class ClassState {
  constructor() {
    this.runs = new Map(); // id → summary with `curve`: [[step, accuracy], ...]
    this.leaderboard = { learners: [], architectures: [] };
    this.learners = []; // every learner of the class: [{id, name}] (class mode)
    this.config = null; // the last `config` message
    this.messages = 0;
  }

  /** Apply one message; answers what changed: {runs: Set of ids, removed, leaderboard, config, reset}. */
  apply(msg) {
    const changed = { runs: new Set(), removed: [], leaderboard: false, config: false, reset: false, learners: false };
    this.messages++;
    if (msg.type === "config") {
      this.config = msg;
      changed.config = true;
    } else if (msg.type === "snapshot") {
      this.runs = new Map(msg.runs.map((r) => [r.id, { ...r, curve: r.curve || [] }]));
      this.leaderboard = msg.leaderboard;
      this.learners = msg.learners || [];
      changed.reset = changed.leaderboard = changed.learners = true;
      for (const id of this.runs.keys()) changed.runs.add(id);
    } else if (msg.type === "update") {
      for (const summary of msg.runs || []) {
        const old = this.runs.get(summary.id);
        this.runs.set(summary.id, { ...summary, curve: old ? old.curve : [] });
        changed.runs.add(summary.id);
      }
      for (const [id, points] of Object.entries(msg.curves || {})) {
        const run = this.runs.get(id);
        if (!run) continue;
        run.curve = run.curve.concat(points);
        changed.runs.add(id);
      }
      for (const id of msg.removed || []) {
        this.runs.delete(id);
        changed.removed.push(id);
      }
      if (msg.leaderboard) {
        this.leaderboard = msg.leaderboard;
        changed.leaderboard = true;
      }
      if (msg.learners) {
        this.learners = msg.learners;
        changed.learners = true;
      }
    }
    return changed;
  }

  /** The runs grouped by owner: [{owner, name, runs: [...]}], learners by name, runs oldest first. */
  byLearner() {
    const groups = new Map();
    for (const run of this.runs.values()) {
      if (!groups.has(run.owner)) groups.set(run.owner, { owner: run.owner, name: run.owner_name, runs: [] });
      groups.get(run.owner).runs.push(run);
    }
    const list = [...groups.values()];
    for (const g of list) g.runs.sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : 0));
    list.sort((a, b) => a.name.localeCompare(b.name) || (a.owner < b.owner ? -1 : 1));
    return list;
  }
}

/** "784-16-16-10" */
export const sizesText = (sizes) => (sizes || []).join("-");

/** Where a run trains, briefly: "this server (process 4242)" or "Ray node 10.0.0.5". */
export function placeText(placement) {
  if (!placement) return "–";
  if (placement.node_id) return `Ray node ${placement.node_ip || placement.node_id.slice(0, 12)}`;
  return placement.pid ? `this server (process ${placement.pid})` : "this server";
}

/**
 * Stable stand-in names for the projector: "Learner 1", "Learner 2"... in the order the
 * learners first appear (their first run), so hiding names never reorders anything.
 */
export class Anonymiser {
  constructor() {
    this.numbers = new Map();
  }

  see(runs) {
    const ordered = [...runs].sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : 0));
    for (const run of ordered) {
      if (!this.numbers.has(run.owner)) this.numbers.set(run.owner, this.numbers.size + 1);
    }
  }

  name(owner) {
    if (!this.numbers.has(owner)) this.numbers.set(owner, this.numbers.size + 1);
    return `Learner ${this.numbers.get(owner)}`;
  }
}
