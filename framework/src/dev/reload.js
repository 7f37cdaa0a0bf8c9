// torn run's live reload (served only under `torn run`, never in prod): reloads the page when
// the app restarts after a rebuild, swaps a changed stylesheet in place, and shows a failed
// build's compiler output over the page until it is fixed.
(() => {
  "use strict";
  if (window.__tornReload) return;
  window.__tornReload = true;

  let boot = null;
  let overlay = null;
  let badge = null;

  const style = (el, props) => Object.assign(el.style, props);

  function showBadge(text) {
    if (!badge) {
      badge = document.createElement("div");
      badge.setAttribute("role", "status");
      badge.id = "torn-dev-badge";
      style(badge, {
        position: "fixed", right: "12px", bottom: "12px", zIndex: "2147483647",
        padding: "6px 12px", borderRadius: "999px", background: "#1f2933", color: "#fff",
        font: "13px/1.4 system-ui, sans-serif", boxShadow: "0 2px 8px rgba(0,0,0,.3)",
      });
      document.body.appendChild(badge);
    }
    badge.textContent = text;
  }

  function hideBadge() {
    if (badge) badge.remove();
    badge = null;
  }

  function showOverlay(text) {
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.id = "torn-dev-overlay";
      overlay.setAttribute("role", "alert");
      style(overlay, {
        position: "fixed", inset: "0", zIndex: "2147483646", overflow: "auto",
        background: "rgba(20, 20, 24, .96)", color: "#f5f5f5", padding: "24px",
        font: "14px/1.5 system-ui, sans-serif",
      });
      const title = document.createElement("h2");
      title.textContent = "Build failed";
      style(title, { color: "#ff6b6b", margin: "0 0 4px", font: "600 20px system-ui, sans-serif" });
      const hint = document.createElement("p");
      hint.textContent = "torn run keeps serving the last good build. Fix the file and save: this page reloads by itself.";
      style(hint, { margin: "0 0 16px", color: "#c8c8c8" });
      const pre = document.createElement("pre");
      style(pre, {
        whiteSpace: "pre-wrap", font: "13px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace",
        margin: "0",
      });
      overlay.append(title, hint, pre);
      document.body.appendChild(overlay);
    }
    overlay.querySelector("pre").textContent = text;
  }

  function swapStylesheet(path, url) {
    for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {
      if (new URL(link.href, location.href).pathname !== path) continue;
      const fresh = link.cloneNode();
      fresh.href = url;
      fresh.addEventListener("load", () => link.remove());
      fresh.addEventListener("error", () => location.reload());
      link.after(fresh);
    }
  }

  const events = new EventSource("/__torn/events");
  events.addEventListener("hello", (e) => {
    // Another process answered: the app was rebuilt and restarted.
    if (boot !== null && e.data !== boot) location.reload();
    boot = e.data;
  });
  events.addEventListener("building", () => showBadge("Rebuilding…"));
  events.addEventListener("failed", (e) => {
    hideBadge();
    showOverlay(JSON.parse(e.data));
  });
  events.addEventListener("css", (e) => {
    const { path, url } = JSON.parse(e.data);
    swapStylesheet(path, url);
  });
  events.addEventListener("reload", () => location.reload());
})();
