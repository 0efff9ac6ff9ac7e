// Closed Claw dashboard: theme, JSON actions and forms, live updates over SSE.
// Plain browser JavaScript served as-is (no build step, no CDN).
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);

function flash(message, kind = "info") {
  const box = $("#flash");
  if (!box) return;
  box.textContent = message;
  box.className = `flash ${kind}`;
}

// Theme: follows prefers-color-scheme until the user picks one.
function applyTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}
applyTheme(localStorage.getItem("cc-theme"));

async function api(method, url, body) {
  const response = await fetch(url, {
    method,
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body ?? {}),
    credentials: "same-origin",
  });
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new Error((data && data.error) || `HTTP ${response.status}`);
  return data;
}

function formBody(form) {
  const body = {};
  const onlyChanged = form.dataset.onlyChanged === "1";
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === "checkbox") {
      if (el.checked) (body[el.name] ??= []).push(el.value);
      continue;
    }
    const value = el.value;
    if (onlyChanged && value === (el.dataset.initial ?? "")) continue;
    if (value === "" && !onlyChanged) continue;
    if (el.dataset.type === "number") body[el.name] = Number(value);
    else if (el.dataset.type === "json") body[el.name] = JSON.parse(value || "{}");
    else body[el.name] = value;
  }
  const wrap = form.dataset.wrap;
  if (wrap && wrap !== "args") return { [wrap]: body };
  if (wrap === "args") return { args: body.args ?? {} };
  return body;
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  const url = form.dataset.jsonForm;
  if (!url) return;
  event.preventDefault();
  const button = $("button[type=submit]", form);
  if (button) button.disabled = true;
  try {
    const result = await api("POST", url, formBody(form));
    if (form.dataset.output) {
      $(`#${CSS.escape(form.dataset.output)}`).textContent = JSON.stringify(result, null, 2);
    }
    if (form.dataset.redirect) {
      location.href = form.dataset.redirect.replace("{run_id}", encodeURIComponent(result.run_id));
      return;
    }
    flash(
      result && result.saved !== undefined ? `Saved ${result.saved} setting(s).` : "Done.",
      "ok",
    );
  } catch (error) {
    flash(error.message, "error");
  } finally {
    if (button) button.disabled = false;
  }
});

document.addEventListener("click", async (event) => {
  if (event.target.id === "theme-toggle") {
    const dark = document.documentElement.dataset.theme
      ? document.documentElement.dataset.theme === "dark"
      : matchMedia("(prefers-color-scheme: dark)").matches;
    const next = dark ? "light" : "dark";
    localStorage.setItem("cc-theme", next);
    applyTheme(next);
    return;
  }
  const button = event.target.closest("[data-action]");
  if (!button) return;
  if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
  button.disabled = true;
  try {
    const body = button.dataset.body ? JSON.parse(button.dataset.body) : {};
    const result = await api(button.dataset.action, button.dataset.url, body);
    if (button.dataset.redirect) {
      location.href = button.dataset.redirect;
      return;
    }
    flash(result && result.resolved ? "Decision recorded." : "Done.", "ok");
    if (
      result && result.run_id && result.status === "running" &&
      !location.pathname.endsWith(result.run_id)
    ) {
      location.href = `/runs/${encodeURIComponent(result.run_id)}`;
      return;
    }
    refreshRunFragment();
  } catch (error) {
    flash(error.message, "error");
    button.disabled = false;
  }
});

// Global stream: approvals badge, live pill, active runs count.
function connectGlobal() {
  const pill = $("#live-pill");
  const source = new EventSource("/api/events/stream");
  source.addEventListener("open", () => {
    if (pill) (pill.textContent = "live", pill.classList.add("on"));
  });
  source.addEventListener("error", () => {
    if (pill) (pill.textContent = "reconnecting", pill.classList.remove("on"));
  });
  source.addEventListener("snapshot", (event) => {
    const snapshot = JSON.parse(event.data);
    const count = $("#approvals-count");
    if (count) count.textContent = String(snapshot.pending_approvals);
    const badge = $("#approvals-badge");
    if (badge) badge.dataset.count = String(snapshot.pending_approvals);
    const active = $("#active-count .value");
    if (active) active.textContent = String(snapshot.active_runs.length);
    const list = $("#active-runs");
    if (list) {
      list.replaceChildren(...snapshot.active_runs.map((run) => {
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = `/runs/${encodeURIComponent(run.run_id)}`;
        a.textContent = run.task;
        li.append(a, ` ${run.current_node ?? ""}`);
        return li;
      }));
    }
    // A run page whose run is no longer active refreshes, even if its own stream missed the end.
    const live = $("#run-live");
    const stillActive = live &&
      snapshot.active_runs.some((run) => run.run_id === live.dataset.runId);
    if (
      snapshot.pending_approvals > 0 || (live && live.dataset.status === "running" && !stillActive)
    ) {
      refreshRunFragment();
    }
  });
}

// Run detail: raw log lines as they are written, and the summary refreshed.
let refreshTimer = null;
function refreshRunFragment() {
  const live = $("#run-live");
  if (!live) return;
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    const response = await fetch(`/runs/${encodeURIComponent(live.dataset.runId)}?fragment=1`, {
      credentials: "same-origin",
    });
    if (!response.ok) return;
    const holder = document.createElement("div");
    holder.innerHTML = await response.text(); // server-rendered and escaped by hono/jsx
    const fresh = holder.firstElementChild;
    if (fresh) $("#run-live").replaceWith(fresh);
  }, 300);
}

function connectRun() {
  const log = $("#raw-log");
  if (!log) return;
  const source = new EventSource(log.dataset.stream);
  source.addEventListener("log", (event) => {
    const entry = JSON.parse(event.data);
    const li = document.createElement("li");
    const time = document.createElement("span");
    time.className = "muted";
    time.textContent = entry.ts.slice(11, 19);
    const name = document.createElement("b");
    name.textContent = ` ${entry.event} `;
    const payload = document.createElement("code");
    payload.textContent = JSON.stringify(entry.payload).slice(0, 400);
    li.append(time, name, payload);
    log.append(li);
    refreshRunFragment();
  });
  source.addEventListener("stream_end", () => {
    source.close();
    document.body.dataset.runEnded = "1";
    setTimeout(() => location.reload(), 300);
  });
}

connectGlobal();
connectRun();
