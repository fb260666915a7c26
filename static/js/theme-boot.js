// Apply the saved theme before the first paint so a light-theme user never sees a dark flash.
// A classic (blocking) script, not inline: the Content-Security-Policy allows only 'self' scripts.
try {
  const t = localStorage.getItem("nnp-theme");
  if (t === "light" || t === "dark") document.documentElement.dataset.theme = t;
} catch (e) { /* storage may be disabled: keep the default */ }
