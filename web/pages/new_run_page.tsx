/** @jsxImportSource hono/jsx */
/** The New Run form at `/runs/new`; app.js posts it as JSON and opens the new run. */
import { Hono } from "hono";
import { APPROVAL_MODES } from "../../core/settings.ts";
import { TOOL_NAMES } from "../../capsule_runtime/manifest.ts";
import type { WebDeps } from "../deps.ts";
import { renderPage } from "./layout.tsx";

/** The two approval-mode selects; "interactive" needs a terminal, so the web form omits it. */
function ApprovalModes() {
  return (
    <div class="row">
      {(["create_approval_mode", "api_approval_mode"] as const).map((name) => (
        <label>
          {name === "create_approval_mode"
            ? "Agent creation approval"
            : "Paid API and data-flow approval"}
          <select name={name}>
            {APPROVAL_MODES.filter((m) => m !== "interactive").map((m) => (
              <option value={m} selected={m === "web"}>{m}</option>
            ))}
          </select>
        </label>
      ))}
    </div>
  );
}

function NewRunForm(props: { deps: WebDeps; base: string; task: string }) {
  const { base } = props;
  const settings = props.deps.settings;
  return (
    <form
      class="stack"
      data-json-form={`${base}/api/runs`}
      data-redirect={`${base}/runs/{run_id}`}
      id="new-run-form"
    >
      <label>
        Task
        <textarea name="task" rows={4} required>{props.task}</textarea>
      </label>
      <fieldset>
        <legend>Tools the run may use (none checked: all)</legend>
        {TOOL_NAMES.map((t) => (
          <label class="inline">
            <input type="checkbox" name="tools" value={t} /> {t}
          </label>
        ))}
      </fieldset>
      <label>
        Workspace (inside {settings.workspace})
        <input name="workspace" placeholder="." />
      </label>
      <label>
        Model (empty: {settings.llmModel || "the provider's default"})
        <input name="model" />
      </label>
      <label>
        Budget in USD (empty: {String(settings.maxCostUsdPerRun)})
        <input name="max_cost_usd" type="number" step="0.01" min="0.01" data-type="number" />
      </label>
      <ApprovalModes />
      <button type="submit" class="button primary">Start run</button>
    </form>
  );
}

/** Mount before the run page, so `/runs/new` is not taken for a run id. */
export function newRunPage(deps: WebDeps, base: string): Hono {
  const app = new Hono();
  app.get("/runs/new", (c) => {
    const task = c.req.query("task") ?? "";
    return c.html(
      renderPage(base, "New run", "/runs/new", <NewRunForm deps={deps} base={base} task={task} />),
    );
  });
  return app;
}
