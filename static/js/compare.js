// The compare page (/compare?runs=a,b,c): pick runs from the server's list, see their cost and
// test accuracy overlaid (compare-chart.js), the config fields that differ (compare-data.js),
// and download the curves as CSV. The address keeps the picked runs (url-state.js). Names are
// user-controlled text: textContent only.

import { ApiError, describeError, get } from "./api.js";
import { setupBanner, setupTheme } from "./chrome.js";
import { CompareChart } from "./compare-chart.js";
import { configDifferences, curvesCsv } from "./compare-data.js";
import { invalidate } from "./frame.js";
import { me, othersRun } from "./identity.js";
import { summary } from "./runs-list.js";
import { compareRuns, setCompareRuns } from "./url-state.js";
import { loadedVocabulary, vocabulary } from "./vocab.js";

const $ = (id) => document.getElementById(id);
const MAX = 8; // runs on one chart: as many as the palette tells apart
const LIVE_MS = 5000; // a picked run still training is re-read this often

const chart = new CompareChart($("compare-chart"));
const picked = []; // run ids, in the order picked
let listed = []; // RunInfo of every run the server lists
const details = new Map(); // id → RunDetail (with history)

const hooks = { ready: false, drawn: () => chart.drawn, picked: () => [...picked], csv: () => curvesCsv(shownRuns()) };
window.__cmp = hooks;

const el = (tag, text, cls) => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
};

/** A table cell whose text may wrap at its spaces and after a "_", "," or "/" (a <wbr> there;
 * the text stays the same), and nowhere else: never inside a word. */
function cell(tag, text) {
  const e = el(tag);
  for (const part of String(text).split(/(?<=[_,/])/)) {
    if (e.childNodes.length) e.append(document.createElement("wbr"));
    e.append(part);
  }
  return e;
}

const shownRuns = () => picked.map((id) => details.get(id)).filter(Boolean);
const who = (r) => r.owner_name || "";

function say(text) {
  $("compare-message").textContent = text;
}

/** Fetch each picked run's history; ids the server doesn't know are dropped with a note. */
async function loadDetails(ids, notes) {
  await Promise.all(ids.map(async (id) => {
    try {
      details.set(id, await get(`/api/runs/${encodeURIComponent(id)}`));
    } catch (err) {
      if (!(err instanceof ApiError && (err.status === 404 || err.status === 422))) throw err;
      notes.push(`run ${id.slice(0, 40)} (it no longer exists)`);
      picked.splice(picked.indexOf(id), 1);
    }
  }));
}

function show() {
  const runs = shownRuns();
  chart.setRuns(runs);
  legend(runs);
  differences(runs);
  $("compare-csv").disabled = !runs.length;
  setCompareRuns(picked);
  for (const box of document.querySelectorAll("#compare-picker input")) {
    box.checked = picked.includes(box.value);
    box.disabled = !box.checked && picked.length >= MAX;
  }
}

function legend(runs) {
  const items = runs.map((r, i) => {
    const li = el("li");
    li.dataset.runId = r.id;
    const sw = el("span", undefined, "swatch");
    sw.style.background = chart.runs[i].color; // CSSOM, not a style attribute: the CSP allows it
    const name = who(r);
    li.append(sw, el("span", `${r.id}${name ? ` · ${name}` : ""} · ${r.status}`));
    return li;
  });
  $("compare-legend").replaceChildren(...items);
}

function differences(runs) {
  const table = $("compare-diff");
  const same = $("compare-same");
  if (runs.length < 2) {
    table.replaceChildren();
    same.textContent = runs.length ? "Pick another run to see how their configs differ." : "";
    return;
  }
  const diffs = configDifferences(runs);
  const head = el("tr");
  head.append(el("th", "setting"), ...runs.map((r) => el("th", who(r) ? `${r.id} · ${who(r)}` : r.id)));
  const rows = diffs.map(([field, values]) => {
    const tr = el("tr");
    tr.dataset.field = field;
    tr.append(el("th", field.replace(/_/g, " ")), ...values.map((v) => cell("td", v)));
    return tr;
  });
  const thead = el("thead");
  thead.append(head);
  const tbody = el("tbody");
  tbody.append(...rows);
  table.replaceChildren(thead, tbody);
  same.textContent = diffs.length ? "" : "Their configs are the same.";
}

function picker(vocab) {
  const mine = $("compare-mine").querySelector("input").checked;
  const items = listed.filter((r) => !mine || !othersRun(r) || picked.includes(r.id)).map((r) => {
    const li = el("li");
    const label = el("label");
    const box = el("input");
    box.type = "checkbox";
    box.value = r.id;
    box.dataset.testid = "compare-pick";
    box.addEventListener("change", () => toggle(r.id, box.checked));
    const name = who(r);
    const acc = typeof r.best_test_accuracy === "number" ? ` · best ${(r.best_test_accuracy * 100).toFixed(2)}%` : "";
    label.append(box, el("strong", r.id), el("span", `${r.status}${acc}`, "muted"));
    if (name) label.append(el("span", name, "recent-owner"));
    label.append(el("span", summary(r.config), "muted"));
    li.append(label);
    return li;
  });
  if (!items.length) items.push(el("li", vocab ? "No runs yet: train one on the playground." : "", "muted"));
  $("compare-picker").replaceChildren(...items);
}

async function toggle(id, on) {
  const at = picked.indexOf(id);
  if (on && at < 0 && picked.length < MAX) picked.push(id);
  if (!on && at >= 0) picked.splice(at, 1);
  const notes = [];
  try {
    if (on && !details.has(id)) await loadDetails([id], notes);
    say(notes.length ? `Ignored: ${notes.join(", ")}.` : "");
  } catch (err) {
    say(`Couldn't load run ${id}: ${describeError(err)}`);
  }
  show();
}

async function refresh() {
  const data = await get("/api/runs");
  listed = (data.runs || []).slice().sort((a, b) => String(b.created).localeCompare(String(a.created)));
  details.clear();
  const notes = [];
  await loadDetails([...picked], notes);
  return notes;
}

function download() {
  const blob = new Blob([curvesCsv(shownRuns())], { type: "text/csv" });
  const a = el("a");
  a.href = URL.createObjectURL(blob);
  a.download = `nn-playground-runs-${picked.join("-").slice(0, 80)}.csv`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

/** Re-read the picked runs that are still training, so their curves grow. */
async function followLive() {
  const vocab = loadedVocabulary();
  if (!vocab || document.visibilityState !== "visible") return;
  const live = shownRuns().filter((r) => vocab.live.has(r.status));
  if (!live.length) return;
  try {
    for (const r of live) details.set(r.id, await get(`/api/runs/${encodeURIComponent(r.id)}`));
  } catch {
    return; // gone or unreachable: the banner or the next Refresh says so
  }
  show();
}

async function init() {
  setInterval(followLive, LIVE_MS);
  setupBanner();
  setupTheme(() => invalidate(chart));
  $("compare-smoothing").addEventListener("change", (e) => chart.setSmoothing(Number(e.target.value)));
  $("compare-csv").addEventListener("click", download);
  $("compare-refresh").addEventListener("click", async () => {
    try {
      await refresh();
      picker(await vocabulary());
      show();
    } catch (err) {
      say(describeError(err));
    }
  });
  // In class mode, "only mine" narrows the list to this learner's runs (picked ones stay).
  me().then((who) => {
    $("compare-mine").hidden = !who.class_mode;
  });
  $("compare-mine").addEventListener("change", async () => {
    picker(await vocabulary());
    show();
  });
  const asked = compareRuns();
  picked.push(...asked.slice(0, MAX));
  const notes = asked.length > MAX ? [`${asked.length - MAX} runs over ${MAX}`] : [];
  try {
    notes.push(...(await refresh()));
    picker(await vocabulary());
  } catch (err) {
    say(describeError(err));
  }
  if (notes.length) say(`Ignored from the link: ${notes.join(", ")}.`);
  show();
}

init().finally(() => {
  hooks.ready = true;
});
