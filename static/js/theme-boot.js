// Apply the theme before the first paint so a light-theme user never sees a dark flash: the one
// a shared link asks for (?theme=, see url-state.js), else the one the user chose on this page
// (saved), else the system's (prefers-color-scheme). A classic (blocking) script, not inline:
// the Content-Security-Policy allows only 'self' scripts.
(function () {
  let t = null;
  try {
    t = new URLSearchParams(location.search).get("theme");
    if (t !== "light" && t !== "dark") t = localStorage.getItem("nnp-theme");
  } catch (e) { /* storage may be disabled: follow the system */ }
  if (t !== "light" && t !== "dark") t = matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark";
  document.documentElement.dataset.theme = t;
})();
