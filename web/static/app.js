// Closed Claw dashboard: theme, JSON actions and forms, live updates over SSE.
// Plain browser JavaScript served as-is (no build step, no CDN).
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);

// The prefix the dashboard is served under ("" at /): every URL built here starts with it.
// URLs rendered by the server (data-url, data-stream, …) already carry it.
const BASE = document.body.dataset.base ?? "";

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

// What to tell the user about an action's JSON result, and how (ok or error).
function resultMessage(result) {
  if (result && typeof result.verified === "boolean") {
    if (result.verified) {
      const wins = (result.shadowed_by_files ?? []).map((f) => ` ${f} sets it too and wins here.`);
      return [`${result.saved ? "Saved. " : ""}${result.message}.${wins.join("")}`, "ok"];
    }
    return [`${result.message}.${result.fix ? ` ${result.fix}` : ""}`, "error"];
  }
  if (result && result.saved !== undefined) return [`Saved ${result.saved} setting(s).`, "ok"];
  if (result && result.resolved) return ["Decision recorded.", "ok"];
  // The tool tester: a call that was refused, failed or never made is a failure.
  if (result && typeof result.tool === "string" && typeof result.ok === "boolean") {
    if (result.ok) return [`${result.tool} ran in the sandbox (${result.ms} ms).`, "ok"];
    return [
      `${result.tool} test failed: ${result.error || result.reason || "unknown error"}.`,
      "error",
    ];
  }
  if (result && result.ok === false) return [result.error || "Failed.", "error"];
  return ["Done.", "ok"];
}

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
  if (!response.ok) {
    const error = new Error((data && data.error) || `HTTP ${response.status}`);
    // The form field the server says is wrong, when it names one.
    if (data && typeof data.field === "string") error.field = data.field;
    throw error;
  }
  return data;
}

// Errors shown next to the field they are about (the server names it), focused and in view.
function clearFieldErrors(form) {
  for (const el of form.querySelectorAll("[aria-invalid=true]")) {
    el.removeAttribute("aria-invalid");
    el.removeAttribute("aria-describedby");
  }
  for (const note of form.querySelectorAll(".field-error")) note.remove();
}

function showFieldError(form, name, message) {
  const field = form.elements.namedItem(name);
  if (!field || typeof field.focus !== "function") return false;
  const note = document.createElement("span");
  note.className = "field-error";
  note.id = `error-${name}`;
  note.setAttribute("role", "alert");
  note.textContent = message;
  field.setAttribute("aria-invalid", "true");
  field.setAttribute("aria-describedby", note.id);
  // Inside the field's label, right under the field: it stays with it in any layout.
  field.after(note);
  field.focus({ preventScroll: true });
  field.scrollIntoView({ block: "center" });
  return true;
}

function formBody(form) {
  const body = {};
  const onlyChanged = form.dataset.onlyChanged === "1";
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.dataset.bool === "1") {
      // A switch: "true" or "false", sent like any field when it changed.
      const value = el.checked ? "true" : "false";
      if (!onlyChanged || value !== (el.dataset.initial ?? "")) body[el.name] = value;
      continue;
    }
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
  clearFieldErrors(form);
  try {
    const result = await api("POST", url, formBody(form));
    if (form.dataset.output) {
      $(`#${CSS.escape(form.dataset.output)}`).textContent = JSON.stringify(result, null, 2);
    }
    if (form.dataset.redirect) {
      location.href = form.dataset.redirect.replace("{run_id}", encodeURIComponent(result.run_id));
      return;
    }
    flash(...resultMessage(result));
  } catch (error) {
    if (!(error.field && showFieldError(form, error.field, error.message))) {
      flash(error.message, "error");
    } else flash("");
  } finally {
    // A form holding a secret is cleared whatever happened to it.
    if (form.dataset.reset === "1") form.reset();
    if (button) button.disabled = false;
  }
});

document.addEventListener("click", async (event) => {
  if (event.target.closest("#theme-toggle")) {
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
    flash(...resultMessage(result));
    button.disabled = false;
    // A started or resumed run: open (or reload) its page so it follows live.
    if (result && result.run_id && result.status === "running") {
      location.href = `${BASE}/runs/${encodeURIComponent(result.run_id)}`;
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
  const source = new EventSource(`${BASE}/api/events/stream`);
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
    const empty = $("#active-runs-empty");
    if (empty) empty.hidden = snapshot.active_runs.length > 0;
    const list = $("#active-runs");
    if (list) {
      list.replaceChildren(...snapshot.active_runs.map((run) => {
        const li = document.createElement("li");
        const a = document.createElement("a");
        a.href = `${BASE}/runs/${encodeURIComponent(run.run_id)}`;
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
// The refresh is a throttle, not a debounce: the first event fetches at once
// (so the stage timeline matches the raw log within one round trip), events
// arriving meanwhile cause exactly one more fetch, and a steady stream of
// events can never starve it.
let refreshing = false;
let refreshAgain = false;
async function refreshRunFragment() {
  const live = $("#run-live");
  if (!live) return;
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  try {
    const response = await fetch(
      `${BASE}/runs/${encodeURIComponent(live.dataset.runId)}?fragment=1`,
      {
        credentials: "same-origin",
      },
    );
    if (response.ok) {
      const holder = document.createElement("div");
      holder.innerHTML = await response.text(); // server-rendered and escaped by hono/jsx
      const fresh = holder.firstElementChild;
      if (fresh) $("#run-live").replaceWith(fresh);
    }
  } catch {
    // Offline for a moment: the next event refreshes again.
  } finally {
    refreshing = false;
    if (refreshAgain) {
      refreshAgain = false;
      refreshRunFragment();
    }
  }
}

// Payloads longer than this are cut in the page; "as JSON" has them whole.
const PAYLOAD_CHARS = 20000;

// One event per line: time, name and a one-line preview; opening it shows the whole payload.
function logLine(entry) {
  const li = document.createElement("li");
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  const time = document.createElement("span");
  time.className = "muted";
  time.textContent = String(entry.ts ?? "").slice(11, 19);
  const name = document.createElement("b");
  name.textContent = ` ${entry.event} `;
  const preview = document.createElement("code");
  const text = JSON.stringify(entry.payload ?? {});
  preview.textContent = text;
  summary.append(time, name, preview);
  const full = document.createElement("pre");
  const pretty = JSON.stringify(entry.payload ?? {}, null, 2);
  full.textContent = pretty.length > PAYLOAD_CHARS
    ? `${pretty.slice(0, PAYLOAD_CHARS)}\n… (${pretty.length - PAYLOAD_CHARS} more characters)`
    : pretty;
  details.append(summary, full);
  li.append(details);
  return li;
}

function connectRun() {
  const log = $("#raw-log");
  if (!log) return;
  const count = $("#raw-log-count");
  // Only a page rendered while the run was going reloads at the end (once);
  // a finished run's page replays its log and stays put.
  const renderedRunning = $("#run-live")?.dataset.status === "running";
  const source = new EventSource(log.dataset.stream);
  source.addEventListener("log", (event) => {
    log.append(logLine(JSON.parse(event.data)));
    if (count) count.textContent = `(${log.children.length} events)`;
    if (renderedRunning) refreshRunFragment();
  });
  source.addEventListener("stream_end", () => {
    source.close();
    document.body.dataset.runEnded = "1";
    // Not when the user is already on the way elsewhere: a reload would cancel their navigation.
    if (renderedRunning) setTimeout(() => leaving || location.reload(), 300);
    else refreshRunFragment();
  });
}

/** Set once this page starts to unload (a link followed, a form sent). */
let leaving = false;
addEventListener("beforeunload", () => (leaving = true));

connectGlobal();
connectRun();
