// The projector view (/class/projector): large type for the back of the room. Without
// `?run=` it shows the leaderboard (best test accuracy per learner) beside the learners' link
// and its QR code; with `?run=<id>` one run, big. "Hide names" (`?anon=1`) replaces every
// learner's name with a stable stand-in ("Learner 3"): the real names never reach the page.

import { count, pct } from "./fmt.js";
import { fitLink } from "./class-link.js";
import { drawCurve } from "./class-spark.js";
import { ClassSocket } from "./class-socket.js";
import { Anonymiser, ClassState, sizesText } from "./class-state.js";

const $ = (id) => document.getElementById(id);
const ROWS = 10;
const state = new ClassState();
const anon = new Anonymiser();
const params = new URLSearchParams(location.search);
const runId = params.get("run");
let hidden = params.get("anon") === "1";
let frame = 0;

const hooks = { ready: false, rendered: 0 };
window.__class = hooks;

const nameOf = (owner, name) => (hidden ? anon.name(owner) : name);

function renderBoard() {
  const entries = state.leaderboard.learners.slice(0, ROWS);
  $("projector-empty").hidden = entries.length > 0;
  $("projector-rows").replaceChildren(...entries.map((e) => {
    const li = document.createElement("li");
    li.dataset.run = e.run_id;
    const name = document.createElement("span");
    name.className = "pj-name";
    name.dataset.testid = "pj-name";
    name.textContent = nameOf(e.owner, e.owner_name);
    const acc = document.createElement("span");
    acc.className = "pj-acc";
    acc.textContent = pct(e.accuracy, 1);
    const net = document.createElement("span");
    net.className = "pj-net";
    net.textContent = `${sizesText(e.sizes)} · ${count(e.parameters)} parameters`;
    li.append(name, acc, net);
    return li;
  }));
}

function renderRun() {
  const run = state.runs.get(runId);
  if (!run) {
    $("pr-title").textContent = hooks.ready ? `No run ${runId}` : "…";
    return;
  }
  $("pr-title").textContent = `${nameOf(run.owner, run.owner_name)}'s run`;
  document.title = `${$("pr-title").textContent} · projector`;
  const cfg = run.config || {};
  $("pr-network").textContent = `${sizesText(run.sizes)} · ${cfg.activation} · ${count(run.parameters)} parameters`;
  $("pr-status").textContent = run.status === "queued" && run.queue_position ? `queued #${run.queue_position}` : run.status;
  $("pr-accuracy").textContent = pct(run.accuracy, 1);
  $("pr-test").textContent = pct(run.best_test_accuracy, 2);
  $("pr-progress").textContent = pct(run.progress);
  drawCurve($("pr-curve"), run.curve, run.total_steps, { grid: true, lineWidth: 4 });
}

function render() {
  frame = 0;
  anon.see(state.runs.values());
  if (runId) renderRun();
  else renderBoard();
  hooks.rendered++;
}

function schedule() {
  if (!frame) frame = document.hidden ? setTimeout(render, 250) : requestAnimationFrame(render);
}

$("projector-board").hidden = Boolean(runId);
fitLink(document.querySelector(".projector-join .join-link"), 20); // legible from the back
$("projector-run").hidden = !runId;
$("show-board").hidden = !runId;
const box = $("anonymise");
box.checked = hidden;
box.addEventListener("change", () => {
  hidden = box.checked;
  const url = new URL(location.href);
  if (hidden) url.searchParams.set("anon", "1");
  else url.searchParams.delete("anon");
  history.replaceState(null, "", url);
  $("show-board").href = hidden ? "/class/projector?anon=1" : "/class/projector";
  schedule();
});
$("show-board").href = hidden ? "/class/projector?anon=1" : "/class/projector";
window.addEventListener("resize", schedule);

new ClassSocket(
  (msg) => {
    const changed = state.apply(msg);
    if (msg.type === "snapshot") hooks.ready = true;
    if (changed.runs.size || changed.leaderboard || changed.reset) schedule();
  },
  {
    onState: (up) => {
      $("feed-state").textContent = up ? "" : "reconnecting…";
    },
  },
);
