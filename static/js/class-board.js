// The dashboard's leaderboard tables: the best test accuracy per learner and per
// architecture, best first, with the parameter count beside it. Names are text, never markup.

import { count, pct } from "./fmt.js";
import { sizesText } from "./class-state.js";

const cell = (text, cls) => {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
};

function rows(tbody, entries, columns, empty) {
  if (!entries.length) {
    const tr = document.createElement("tr");
    const td = cell(empty, "muted small");
    td.colSpan = 6;
    tr.append(td);
    tbody.replaceChildren(tr);
    return;
  }
  tbody.replaceChildren(...entries.map((entry, i) => {
    const tr = document.createElement("tr");
    tr.dataset.run = entry.run_id;
    tr.append(...columns(entry, i));
    return tr;
  }));
}

export function renderBoards(board, learnersBody, archBody) {
  rows(learnersBody, board.learners, (e, i) => [
    cell(String(i + 1), "num"), cell(e.owner_name ?? "", "lb-name"), cell(pct(e.accuracy, 2), "num lb-acc"),
    cell(sizesText(e.sizes)), cell(e.parameters === undefined ? "" : count(e.parameters), "num"),
  ], "No test accuracy yet.");
  rows(archBody, board.architectures, (e, i) => [
    cell(String(i + 1), "num"), cell(sizesText(e.sizes), "lb-sizes"), cell(e.parameters === undefined ? "" : count(e.parameters), "num"),
    cell(pct(e.accuracy, 2), "num lb-acc"), cell(e.owner_name ?? "", "lb-name"), cell(String(e.runs ?? ""), "num"),
  ], "No test accuracy yet.");
}
