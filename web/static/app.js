// OpenDeep pages: live updates over server-sent events and the HITL countdowns.
// Live parts are elements with data-live-src (a server-rendered, escaped fragment)
// and data-live-kinds (which change kinds refresh them); data-live-task / data-live-call
// narrow them to one task or call.
(() => {
  "use strict";
  const body = document.body;

  function formatLeft(ms) {
    const s = Math.ceil(ms / 1000);
    return s >= 60 ? `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")} left` : `${s}s left`;
  }
  function tick() {
    for (const el of document.querySelectorAll("[data-deadline]")) {
      const ms = Date.parse(el.dataset.deadline) - Date.now();
      el.textContent = ms > 0 ? formatLeft(ms) : "expired";
      el.classList.toggle("urgent", ms > 0 && ms < 15000);
      el.classList.toggle("expired", ms <= 0);
    }
  }
  tick();
  setInterval(tick, 1000);

  const url = body.dataset.liveUrl;
  if (!url || !window.EventSource) return;
  const timers = new Map();

  function typingIn(el) {
    // Never replace a field the person is typing in: refresh once they leave it.
    const active = document.activeElement;
    if (!active || !el.contains(active) || !active.matches("input, textarea, select")) return false;
    active.addEventListener("blur", () => soon(el), { once: true });
    return true;
  }
  async function refresh(el) {
    if (typingIn(el)) return;
    const response = await fetch(el.dataset.liveSrc, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const html = await response.text();
    if (typingIn(el)) return;  // they started typing while the fragment was on its way
    el.innerHTML = html;
    tick();
    el.dispatchEvent(new CustomEvent("live-refreshed", { bubbles: true }));
  }
  function soon(el) {
    clearTimeout(timers.get(el));
    timers.set(el, setTimeout(() => refresh(el).catch(() => {}), 100));
  }
  function concerns(el, change) {
    const kinds = (el.dataset.liveKinds || "").split(",").filter(Boolean);
    if (kinds.length && !kinds.includes(change.kind)) return false;
    if (el.dataset.liveTask && change.task_id && change.task_id !== el.dataset.liveTask) return false;
    if (el.dataset.liveCall && change.call_id && change.call_id !== el.dataset.liveCall) return false;
    return true;
  }
  async function updateBadge() {
    const badge = document.getElementById("hitl-badge");
    if (!badge) return;
    const response = await fetch("/inbox/count", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const { open } = await response.json();
    badge.textContent = String(open);
    badge.dataset.count = String(open);
    badge.hidden = open === 0;
  }

  const source = new EventSource(url);
  source.addEventListener("hello", () => {
    // Catch up on anything that changed between rendering the page and subscribing.
    const catchingUp = [...document.querySelectorAll("[data-live-src]")].map((el) => refresh(el));
    catchingUp.push(updateBadge());
    Promise.allSettled(catchingUp).then(() => { body.dataset.live = "connected"; });
  });
  source.addEventListener("change", (event) => {
    const change = JSON.parse(event.data);
    document.querySelectorAll("[data-live-src]").forEach((el) => { if (concerns(el, change)) soon(el); });
    if (change.kind === "hitl") updateBadge().catch(() => {});
  });
  source.addEventListener("error", () => { body.dataset.live = "reconnecting"; });
})();
