// The page around the panels: the light/dark theme switch (persisted), the "can't reach the
// server" banner, and the keyboard shortcuts (Esc clears, Ctrl+Z undoes, R draws a test digit).

import { onReachability } from "./api.js";
import { resetTheme } from "./colors.js";

const $ = (id) => document.getElementById(id);

/** onTheme(): repaint whatever reads theme colours. The theme follows the system's
 * prefers-color-scheme until the user picks one with the button (then it is remembered). */
export function setupTheme(onTheme) {
  const set = (name, chosen = false) => {
    document.documentElement.dataset.theme = name;
    if (chosen) {
      try {
        localStorage.setItem("nnp-theme", name);
      } catch {
        /* private mode: not persisted */
      }
    }
    const b = $("theme-toggle");
    const light = name === "light";
    b.textContent = light ? "☾ Dark" : "☀ Light";
    b.setAttribute("aria-label", light ? "Switch to dark theme" : "Switch to light theme");
    b.setAttribute("aria-pressed", String(light));
    resetTheme();
    onTheme();
  };
  const isLight = () => document.documentElement.dataset.theme === "light";
  $("theme-toggle").addEventListener("click", () => set(isLight() ? "dark" : "light", true));
  const system = window.matchMedia("(prefers-color-scheme: light)");
  system.addEventListener("change", () => {
    let saved = null;
    try {
      saved = localStorage.getItem("nnp-theme");
    } catch {
      /* storage off: follow the system */
    }
    if (!saved) set(system.matches ? "light" : "dark");
  });
  set(isLight() ? "light" : "dark");
}

export function setupBanner() {
  onReachability((ok) => {
    const b = $("banner");
    if (ok) {
      b.hidden = true;
    } else {
      b.textContent = "Can't reach the server. Is nn-playground still running? Reconnecting automatically…";
      b.hidden = false;
    }
  });
}

/** keys: {clear(), undo(), random()} */
export function setupKeys(keys) {
  document.addEventListener("keydown", (e) => {
    const tag = e.target && e.target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
    if (e.key === "Escape") {
      keys.clear();
    } else if ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === "z") {
      e.preventDefault();
      keys.undo();
    } else if (!e.ctrlKey && !e.metaKey && !e.altKey && e.key.toLowerCase() === "r") {
      keys.random();
    }
  });
  $("clear").addEventListener("click", () => keys.clear());
  $("undo").addEventListener("click", () => keys.undo());
  $("random-digit").addEventListener("click", () => keys.random());
}
