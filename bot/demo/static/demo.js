// The demo page's glue: polls /api/state about once a second, sends what a person does to
// /api/..., and asks the two panes (slack.js, network.js) to draw. Only changed state is
// drawn again; inputs live outside the drawn areas, so typing is never interrupted.
"use strict";

window.Demo = (() => {
  const ui = {
    user: null, // the staff member the page acts as
    thread: null, // ts of the open thread
    editing: null, // ts of the reply being edited
    replyTo: null, // id of the status the customer answers
    highlight: null, // id of the status to point at
    localNotes: [], // commands the workspace does not know, answered by "Slack" itself
  };
  let state = null;
  let etag = "";
  let offset = 0;
  let timer = null;
  let polling = false;
  let again = false;
  const views = [];

  function el(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const child of children) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  }

  function now() {
    return Date.now() / 1000 + offset;
  }

  function userName(id) {
    const user = state && state.slack.users[id];
    return user ? user.name : null;
  }

  function clock(seconds) {
    return new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function avatar(seed, label, extra) {
    const node = el("div", "avatar" + (extra ? " " + extra : ""), (label || "?").trim().charAt(0).toUpperCase());
    let hash = 2166136261; // FNV-1a: neighbouring ids get far-apart colours
    for (const char of String(seed)) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
    node.style.backgroundColor = `hsl(${hash % 360} 50% 42%)`;
    return node;
  }

  const errorBox = document.getElementById("error");
  let errorTimer = null;

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => { errorBox.hidden = true; }, 6000);
  }

  async function api(path, body) {
    try {
      const answer = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const result = await answer.json();
      if (!result.ok) {
        showError(result.error || `${path} failed`);
        return null;
      }
      refresh();
      return result;
    } catch (error) {
      showError(`The demo server does not answer (${error}). Is socialbridge demo still running?`);
      return null;
    }
  }

  function draw() {
    for (const view of views) view.render(state);
    drawTopbar();
  }

  function drawTopbar() {
    document.getElementById("workspace").textContent = state.slack.team;
    const bot = document.getElementById("bot-status");
    bot.textContent = state.bot.ok
      ? `bot running · ${state.bot.queue_depth ?? 0} jobs queued`
      : "bot not answering";
    bot.classList.toggle("down", !state.bot.ok);
    const scenario = document.getElementById("scenario");
    scenario.hidden = !state.scenario;
    if (state.scenario) {
      const s = state.scenario;
      const next = s.next_at ? el("span", null, " · next in ", deadline(s.next_at), " s") : " · done";
      scenario.replaceChildren(`${s.name}: ${s.played} of ${s.total} posts`, next);
    }
  }

  function deadline(at) {
    const span = el("span", "countdown", String(Math.max(0, Math.ceil(at - now()))));
    span.dataset.deadline = String(at);
    return span;
  }

  function tick() {
    for (const node of document.querySelectorAll("[data-deadline]")) {
      node.textContent = String(Math.max(0, Math.ceil(Number(node.dataset.deadline) - now())));
    }
  }

  async function poll() {
    if (polling) {
      again = true;
      return;
    }
    polling = true;
    clearTimeout(timer);
    try {
      const answer = await fetch(`/api/state?etag=${encodeURIComponent(etag)}`, { cache: "no-store" });
      const data = await answer.json();
      offset = data.now - Date.now() / 1000;
      if (!data.unchanged) {
        state = data;
        etag = data.etag;
        draw();
      }
      document.body.classList.remove("offline");
    } catch {
      document.body.classList.add("offline");
      document.getElementById("bot-status").textContent = "demo server not answering";
    } finally {
      polling = false;
      if (again) {
        again = false;
        setTimeout(poll, 0);
      } else {
        timer = setTimeout(poll, 1000);
      }
    }
  }

  function refresh() {
    poll();
  }

  function redraw() {
    if (state) draw();
  }

  document.addEventListener("DOMContentLoaded", () => {
    poll();
    setInterval(tick, 250);
  });

  return {
    ui, el, now, clock, avatar, userName, api, showError, refresh, redraw, deadline,
    register(view) { views.push(view); },
    get state() { return state; },
  };
})();
