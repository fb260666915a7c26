// The page's state in its address, owned here alone: the selected model (?model=) or run
// (?run=), the train panel's config (?preset= plus each field that differs from that preset),
// the theme (?theme=) and the lesson step (#learn=N, also read as ?learn=N). Panels never touch
// the URL: they tell this module something changed (sync), and it asks them for their state and
// writes it with history.replaceState. A link opened later is read once (link()), checked
// against what the server offers (checkConfig), and what doesn't fit is ignored with a note.
// The address carries no identity and no token: it is built from the page's state only, so
// nothing else that arrived in the URL survives the first sync.

/** The config's yes/no fields: a checkbox #f-<name> each in the train panel, 1 or 0 in links. */
export const FLAGS = ["augment", "deslant", "strokes"];
export const CONFIG_FIELDS = ["dataset", "layers", "activation", "cost", "optimizer", "lr_schedule", "learning_rate",
  "batch_size", "epochs", "train_subset", ...FLAGS];
const CHOICES = ["dataset", "activation", "cost", "optimizer", "lr_schedule"]; // dataset: issue 17
const THEMES = ["light", "dark"];

/** What the address asks for, unchecked: {model, run, preset, config: {field: text}, theme}. */
export function readLink(search = location.search) {
  const q = new URLSearchParams(search);
  const config = {};
  for (const f of CONFIG_FIELDS) if (q.has(f)) config[f] = q.get(f);
  return {
    model: q.get("model") || null,
    run: q.get("run") || null,
    preset: q.get("preset") || null,
    config,
    theme: q.get("theme") || null,
  };
}

/** The theme a link asks for ("light" | "dark"), or null (none, or not one of them). */
export function linkTheme(link) {
  return THEMES.includes(link.theme) ? link.theme : null;
}

/** The lesson step the address asks for (#learn=N or ?learn=N), or null. */
export function lessonStep() {
  const m = /(?:^#|&)learn=(\d+)/.exec(location.hash) || /[?&]learn=(\d+)/.exec(location.search);
  return m ? Number(m[1]) : null;
}

/** Keep the lesson step (0: closed) in the address as #learn=N. */
export function setLessonStep(n) {
  const url = new URL(location.href);
  url.searchParams.delete("learn");
  url.hash = n ? `learn=${n}` : "";
  if (url.href !== location.href) history.replaceState(history.state, "", url);
}

/** The run ids the compare page's address asks for (/compare?runs=a,b,c), in order, once each. */
export function compareRuns(search = location.search) {
  const text = new URLSearchParams(search).get("runs") || "";
  return [...new Set(text.split(",").map((s) => s.trim()).filter(Boolean))];
}

/** Keep the compared runs in the compare page's address. */
export function setCompareRuns(ids) {
  const url = new URL(location.pathname, location.origin);
  if (ids.length) url.search = `?runs=${ids.map(encodeURIComponent).join(",")}`;
  if (url.href !== location.href) history.replaceState(history.state, "", url);
}

const whole = (text, lo, hi) => {
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= lo && n <= hi ? n : null;
};

/** One link value as a config value, or undefined when it is not acceptable. `ctx`: {limits,
 * choices} (the server's /api/presets limits and /api/vocabulary choices). */
function checkField(f, text, ctx) {
  const lim = ctx.limits || {};
  const t = String(text).trim();
  if (CHOICES.includes(f)) return (ctx.choices[f] || []).includes(t) ? t : undefined;
  if (f === "layers") {
    const parts = t === "" ? [] : t.split(/[\s,;x×]+/).filter(Boolean);
    const sizes = parts.map((p) => whole(p, 1, lim.max_layer_size || 1024));
    const ok = sizes.every((n) => n !== null) && sizes.length <= (lim.max_layers || 6);
    return ok ? sizes : undefined;
  }
  if (f === "learning_rate") {
    const v = t === "" ? NaN : Number(t);
    return Number.isFinite(v) && v > 0 && v <= 1e10 ? v : undefined;
  }
  if (f === "batch_size") return whole(t, 1, lim.max_batch_size || 4096) ?? undefined;
  if (f === "epochs") return whole(t, 1, lim.max_epochs || 100) ?? undefined;
  if (f === "train_subset") return t === "" ? null : whole(t, 1, 55000) ?? undefined;
  if (FLAGS.includes(f)) return ["1", "true", "on"].includes(t) ? true : ["0", "false", "off"].includes(t) ? false : undefined;
  return undefined;
}

/**
 * The train config a link describes: its preset (or `fallback`) with the link's fields over it,
 * each checked; {config, ignored: [param, ...]} (config null when the link has none).
 * ctx: {presets: {name: TrainConfig}, limits, choices, fallback}.
 */
export function checkConfig(link, ctx) {
  const ignored = [];
  const fields = Object.keys(link.config);
  if (!link.preset && !fields.length) return { config: null, ignored };
  let preset = link.preset;
  if (preset && !ctx.presets[preset]) {
    ignored.push("preset");
    preset = null;
  }
  preset = preset || ctx.fallback;
  const config = { ...(ctx.presets[preset] || {}), preset };
  for (const f of fields) {
    const v = checkField(f, link.config[f], ctx);
    if (v === undefined) ignored.push(f);
    else config[f] = v;
  }
  return { config, ignored };
}

/** A link's value for a note: user-controlled text, shown (as text) no longer than 40. */
export const clip = (text) => (String(text).length > 40 ? `${String(text).slice(0, 39)}…` : String(text));

/** Put the link's config in the train panel (its showConfig), checked against the panel's
 * presets and limits and the server's `choices`; the ignored values as notes ("epochs=0"). */
export function restoreConfig(panel, link, choices) {
  const { config, ignored } = checkConfig(link, {
    presets: panel.presets, limits: panel.limits, choices, fallback: panel.base,
  });
  if (config) panel.showConfig(config);
  return ignored.map((f) => `${f}=${clip(f === "preset" ? link.preset : link.config[f])}`);
}

/** The config as link parameters: the preset and each field the form changed from it. */
export function configParams(panel) {
  const base = panel.base;
  const preset = base && panel.presets[base];
  if (!preset) return [];
  const form = panel.formValues();
  const out = [["preset", base]];
  for (const f of panel.differences(preset)) {
    if (!CONFIG_FIELDS.includes(f)) continue; // the drawings fields (issue 17) stay out of links
    const v = form[f];
    if (FLAGS.includes(f)) out.push([f, v ? "1" : "0"]);
    else out.push([f, v === null || v === undefined ? "" : String(v)]);
  }
  return out;
}

export class UrlState {
  /** from: {selection() → {kind, id} | null, config() → [[param, text], ...], theme() → name}. */
  constructor(from) {
    this.from = from;
    this.link = readLink();
    this.live = false; // until the link's state is restored, the address stays as it came
    this.queued = false;
  }

  /** The link's state is restored: from now on the address follows the page. */
  start() {
    this.live = true;
    this.write();
  }

  /** Something in the page changed: write the address (coalesced within a task). */
  sync() {
    if (!this.live || this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      this.write();
    });
  }

  query() {
    const q = new URLSearchParams();
    const sel = this.from.selection();
    if (sel && sel.id) q.set(sel.kind === "run" ? "run" : "model", sel.id);
    for (const [k, v] of this.from.config()) q.set(k, v);
    const theme = this.from.theme();
    if (THEMES.includes(theme)) q.set("theme", theme);
    return q;
  }

  /** The shareable address of the page as it is now. */
  href() {
    const url = new URL(location.pathname, location.origin);
    url.search = this.query().toString();
    url.hash = location.hash;
    return url.href;
  }

  write() {
    const href = this.href();
    if (href !== location.href) history.replaceState(history.state, "", href);
  }
}

/** The "Copy link" button: the page's address to the clipboard, confirmed in `status`; without
 * the Clipboard API (a page served over plain http to other machines), the link is shown
 * selected in `fallback` (a read-only input) to copy by hand. */
export function setupCopyLink(button, status, fallback, urls) {
  let timer = null;
  const say = (text) => {
    status.textContent = text;
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (status.textContent === text) status.textContent = "";
    }, 6000);
  };
  button.addEventListener("click", async () => {
    urls.write();
    const href = location.href;
    fallback.hidden = true;
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error("no clipboard");
      await navigator.clipboard.writeText(href);
      button.dataset.copied = href;
      say("Link copied: paste it to share this page as it is.");
    } catch {
      fallback.value = href;
      fallback.hidden = false;
      fallback.focus();
      fallback.select();
      let copied = false;
      try {
        copied = document.execCommand("copy"); // the old way; may be refused
      } catch {
        copied = false;
      }
      if (copied) button.dataset.copied = href;
      say(copied ? "Link copied." : "Copy the selected link (Ctrl+C or ⌘C).");
    }
  });
}
