// Live updates: ask /api/version every 3 s; when the server stored something new, fetch
// this page's <main> again (X-Console-Partial) and put it in place. No library, no CDN.
"use strict";
(function () {
  const POLL_MS = 3000;
  const main = document.getElementById("live");
  const status = document.getElementById("live-status");
  if (!main || !status || !main.dataset.version) return;  // not a live page
  let version = main.dataset.version;
  let busy = false;

  function show(text, cls) {
    status.textContent = text;
    status.className = "live " + cls;
  }

  async function refresh() {
    const response = await fetch(window.location.href, {
      headers: { "X-Console-Partial": "1" },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error("HTTP " + response.status);
    const html = await response.text();
    main.innerHTML = html;
    version = response.headers.get("X-Console-Version") || version;
    main.dataset.version = version;
    const updates = Number(status.dataset.updates || "0") + 1;
    status.dataset.updates = String(updates);
    show("updated " + new Date().toLocaleTimeString(), "fresh");
  }

  async function poll() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const response = await fetch("/api/version", { credentials: "same-origin" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const body = await response.json();
      const asOf = document.getElementById("as-of");
      if (asOf && body.now) asOf.textContent = body.now;
      if (body.version !== version) await refresh();
      else if (status.classList.contains("down")) show("live", "");
    } catch (err) {
      show("offline: retrying", "down");
    } finally {
      busy = false;
    }
  }

  setInterval(poll, POLL_MS);
})();
