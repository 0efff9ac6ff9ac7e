/** @jsxImportSource hono/jsx */
// Pages are rendered once on the server, never diffed, so React's list keys mean nothing here.
// deno-lint-ignore-file jsx-key
/** The tool catalogue at `/tools`, each tool with a form to test it in a sandbox. */
import { Hono } from "hono";
import { toolsView } from "../views/tools_view.ts";
import { renderPage } from "./layout.tsx";
import { Json } from "./ui.tsx";

type ToolInfo = ReturnType<typeof toolsView>[number];

function ToolSection(props: { t: ToolInfo; base: string }) {
  const { t, base } = props;
  return (
    <section class="tool">
      <h2>
        {t.name} <span class={`status risk-${t.risk_level}`}>{t.risk_level} risk</span>
      </h2>
      <p>{t.description}</p>
      <details>
        <summary>Arguments schema</summary>
        <Json value={t.args_schema} />
      </details>
      <form
        class="stack"
        data-json-form={`${base}/api/tools/${t.name}/test`}
        data-wrap="args"
        data-output={`out-${t.name}`}
      >
        <label>
          Arguments (JSON)
          <textarea name="args" rows={3} data-type="json">{"{}"}</textarea>
        </label>
        <button type="submit" class="button">Test in sandbox</button>
        <pre class="json" id={`out-${t.name}`}></pre>
      </form>
    </section>
  );
}

export function toolsPage(base: string): Hono {
  const app = new Hono();
  app.get("/tools", (c) =>
    c.html(renderPage(
      base,
      "Tools",
      "/tools",
      <>
        <p class="muted">
          "Test" runs the tool once inside a throw-away sandboxed capsule allowed only that tool,
          with the same policy checks an agent gets.
        </p>
        {toolsView().map((t) => <ToolSection t={t} base={base} />)}
      </>,
    )));
  return app;
}
