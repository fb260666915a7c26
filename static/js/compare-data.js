// The compare page's data, without the DOM: which config fields differ between runs, and the
// runs' curves as CSV, both built from the server's RunDetail (GET /api/runs/{id}: its config
// and history). Numbers go into the CSV as JavaScript writes them (the shortest text that reads
// back as the same double), so a spreadsheet or a script sees exactly the server's values.

const CSV_COLUMNS = ["run", "owner", "kind", "step", "epoch", "cost", "batch_accuracy",
  "validation_accuracy", "test_accuracy"];

/** The config fields whose values are not the same in every run: [field, [value per run]]. */
export function configDifferences(runs) {
  const fields = new Set();
  for (const r of runs) for (const k of Object.keys(r.config || {})) fields.add(k);
  const out = [];
  for (const f of [...fields].sort()) {
    const values = runs.map((r) => (r.config || {})[f]);
    const texts = values.map(show);
    if (new Set(texts).size > 1) out.push([f, texts]);
  }
  return out;
}

/** A config value as the page shows it: lists as "16, 16", nothing as "–". */
export function show(v) {
  if (v === undefined || v === null) return "–";
  if (Array.isArray(v)) return v.join(", ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** One CSV cell: quoted when it holds a comma, quote or line break; text that a spreadsheet
 * would run as a formula (=, +, -, @ first) gets a leading apostrophe. Numbers as they are. */
export function cell(v) {
  if (v === undefined || v === null) return "";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The runs' curves as CSV: a "batch" row per metrics point (cost and batch accuracy) and an
 * "epoch" row per evaluation (validation and test accuracy), run by run, in step order. */
export function curvesCsv(runs) {
  const lines = [CSV_COLUMNS.join(",")];
  for (const r of runs) {
    const h = r.history || {};
    const m = h.metrics || { step: [] };
    const who = r.owner_name ?? r.owner ?? "";
    for (let i = 0; i < (m.step || []).length; i++) {
      const acc = m.accuracy ? m.accuracy[i] : null;
      const row = [r.id, who, "batch", m.step[i], m.epoch ? m.epoch[i] : null, m.cost ? m.cost[i] : null, acc, null, null];
      lines.push(row.map(cell).join(","));
    }
    for (const e of h.evaluations || []) {
      const row = [r.id, who, "epoch", e.step, e.epoch, null, null, e.validation_accuracy, e.test_accuracy];
      lines.push(row.map(cell).join(","));
    }
  }
  return `${lines.join("\r\n")}\r\n`;
}
