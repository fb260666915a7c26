// The teacher's class dashboard (/class): wires the feed (class-socket.js) to the class state
// and the views: learners and their runs (class-learners.js), the leaderboard (class-board.js)
// and the push form (class-push.js). Rendering waits for the next animation frame, so a burst
// of messages costs one layout.

import { describeError, post } from "./api.js";
import { renderBoards } from "./class-board.js";
import { fitLink } from "./class-link.js";
import { LearnersView } from "./class-learners.js";
import { PushForm } from "./class-push.js";
import { ClassSocket } from "./class-socket.js";
import { ClassState } from "./class-state.js";
import { vocabulary } from "./vocab.js";

const $ = (id) => document.getElementById(id);
const ROSTER_NAMES = 60; // names listed of the learners without a run
const state = new ClassState();
let live = new Set(["queued", "downloading", "running", "paused"]); // until the vocabulary loads
const push = new PushForm();
const learners = new LearnersView($("learners"), {
  isLive: (status) => live.has(status),
  stop: async (id, button) => {
    button.disabled = true;
    try {
      await post(`/api/runs/${encodeURIComponent(id)}/stop`);
      $("action-status").textContent = `Run ${id} stopped.`;
    } catch (err) {
      $("action-status").textContent = `Could not stop run ${id}: ${describeError(err)}`;
      button.disabled = false;
    }
  },
});

let pending = null; // what changed since the last render
let frame = 0;

function merge(into, changed) {
  if (!into) return changed;
  for (const id of changed.runs) into.runs.add(id);
  into.removed.push(...changed.removed);
  into.leaderboard ||= changed.leaderboard;
  into.learners ||= changed.learners;
  into.reset ||= changed.reset;
  return into;
}

function render() {
  frame = 0;
  const changed = pending;
  pending = null;
  if (!changed) return;
  const n = learners.render(state, changed);
  const all = state.learners.length;
  $("learner-count").textContent = all ? `${all} joined · ${n} with runs` : n ? `${n} with runs` : "";
  if (changed.learners || changed.runs.size || changed.reset) showRoster();
  if (changed.leaderboard) renderBoards(state.leaderboard, $("lb-learners"), $("lb-architectures"));
  hooks.rendered++;
}

/** The learners who joined but have no run yet, by name (text only). */
function showRoster() {
  const owners = new Set([...state.runs.values()].map((r) => r.owner));
  const waiting = state.learners.filter((l) => !owners.has(l.id)).map((l) => l.name);
  const more = waiting.length > ROSTER_NAMES ? ` and ${waiting.length - ROSTER_NAMES} more` : "";
  $("roster").textContent = waiting.length ? `No run yet: ${waiting.slice(0, ROSTER_NAMES).join(", ")}${more}` : "";
}

const hooks = {
  ready: false,
  rendered: 0,
  messages: () => state.messages,
  run: (id) => state.runs.get(id) || null,
  leaderboard: () => state.leaderboard,
};
window.__class = hooks;
fitLink(document.querySelector(".join-card .join-link"), 16);

new ClassSocket(
  (msg) => {
    const changed = state.apply(msg);
    if (msg.type === "config") push.show(msg);
    if (msg.type === "snapshot") hooks.ready = true;
    if (changed.runs.size || changed.removed.length || changed.leaderboard || changed.learners) {
      pending = merge(pending, changed);
      // A hidden tab gets no animation frames: render on a timer there instead.
      if (!frame) frame = document.hidden ? setTimeout(render, 250) : requestAnimationFrame(render);
    }
  },
  {
    onState: (up) => {
      $("feed-state").textContent = up ? "live" : "reconnecting…";
      $("feed-state").dataset.state = up ? "live" : "down";
    },
  },
);

vocabulary().then((v) => (live = v.live)).catch(() => {});
push.load().catch((err) => {
  $("push-status").textContent = `Couldn't load the presets: ${describeError(err)}`;
});
