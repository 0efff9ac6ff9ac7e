/** @jsxImportSource hono/jsx */
// Pages are rendered once on the server, never diffed, so React's list keys mean nothing here.
// deno-lint-ignore-file jsx-key
/** One agent at `/agents/:id`: figures, capsule flags, skill, memories and manifest. */
import { Hono } from "hono";
import { assertAgentId, isAgentId } from "../../core/ids.ts";
import type { WebDeps } from "../deps.ts";
import { type AgentView, agentView } from "../views/agent_view.ts";
import { ms, when } from "./format.ts";
import { renderPage } from "./layout.tsx";
import { Card, Empty, Json, Status } from "./ui.tsx";

function DeleteButton(props: { agentId: string; base: string }) {
  const { agentId, base } = props;
  return (
    <div class="actions">
      <button
        type="button"
        class="button danger"
        data-action="DELETE"
        data-url={`${base}/api/agents/${agentId}`}
        data-confirm={`Delete agent ${agentId}?`}
        data-redirect={`${base}/agents`}
      >
        Delete agent
      </button>
    </div>
  );
}

/** Folds another active agent into this one (a twin that piled up). */
function MergeForm(props: { agentId: string; base: string; others: string[] }) {
  const { agentId, base, others } = props;
  if (others.length === 0) return null;
  return (
    <form
      class="stack merge"
      data-json-form={`${base}/api/agents/${agentId}/merge`}
      data-redirect={`${base}/agents/${agentId}`}
    >
      <label>
        Merge another agent into this one (its uses and memories count here; it is disabled)
        <select name="from">
          {others.map((id) => <option value={id}>{id}</option>)}
        </select>
      </label>
      <button type="submit" class="button">Merge into {agentId}</button>
    </form>
  );
}

function Figures(props: { view: AgentView }) {
  const { view } = props;
  return (
    <section class="cards">
      <Card label="Status" value={<Status value={view.status} />} />
      <Card label="Uses" value={String(view.metrics.usage_count)} />
      <Card label="Success" value={`${Math.round(view.metrics.success_rate * 100)}%`} />
      <Card label="Avg latency" value={ms(view.metrics.avg_latency_ms)} />
      <Card
        label="Tool calls"
        value={`${view.metrics.tool_calls} (${view.metrics.tool_errors} failed)`}
      />
    </section>
  );
}

function Memories(props: { view: AgentView }) {
  const { view } = props;
  return (
    <section>
      <h2>Memories ({view.memory_entries})</h2>
      {view.memories.length === 0 ? <Empty>No memories yet.</Empty> : (
        <ul class="list">
          {view.memories.map((m) => (
            <li>
              <span class="muted">{when(m.created_at)}</span> {m.content}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Limits(props: { view: AgentView }) {
  const { view } = props;
  const off = view.limit_enforcement.filter((l) => !l.active);
  return (
    <section>
      <h2>Resource limits</h2>
      <ul class="list">{view.limit_lines.map((line) => <li>{line}</li>)}</ul>
      {off.map((l) => <p class="alert-box">{l.limit}: {l.how}</p>)}
    </section>
  );
}

function ProgramNetwork(props: { view: AgentView }) {
  const net = props.view.program_network;
  return (
    <section id="program-network">
      <h2>Network for its programs</h2>
      {net.hosts.length === 0 ? <p class="muted">{net.line}</p> : (
        <>
          <p>
            Programs of terminal/python_exec may reach only these hosts, through the egress proxy
            (every connection is logged):
          </p>
          <ul class="list">{net.hosts.map((h) => <li class="mono">{h}</li>)}</ul>
          {!net.reachable && <p class="alert-box">{net.line}</p>}
        </>
      )}
    </section>
  );
}

function AgentDetail(props: { view: AgentView; base: string; others: string[] }) {
  const { view } = props;
  return (
    <>
      <p>{view.description}</p>
      <DeleteButton agentId={view.agent_id} base={props.base} />
      <MergeForm agentId={view.agent_id} base={props.base} others={props.others} />
      <Figures view={view} />
      <section>
        <h2>Deno flags of its capsule ({view.sandbox})</h2>
        <pre class="flags">{view.deno_flags.join("\n")}</pre>
        {view.refused_tools.map((r) => <p class="alert-box">{r.tool}: {r.reason}</p>)}
      </section>
      <ProgramNetwork view={view} />
      <Limits view={view} />
      <section>
        <h2>skill.md</h2>
        <pre class="result">{view.skill_md}</pre>
      </section>
      <Memories view={view} />
      <section>
        <h2>Manifest</h2>
        <Json
          value={{
            ...view,
            skill_md: undefined,
            memories: undefined,
            recent_tool_calls: undefined,
          }}
        />
      </section>
    </>
  );
}

export function agentPage(deps: WebDeps, base: string): Hono {
  const app = new Hono();
  app.get("/agents/:id", async (c) => {
    const id = c.req.param("id");
    const view = isAgentId(id) ? await agentView(deps, assertAgentId(id)) : null;
    if (!view) {
      return c.html(
        renderPage(base, "Agent not found", "/agents", <Empty>No agent {id.slice(0, 80)}.</Empty>),
        404,
      );
    }
    const others = deps.store.agents.list(1000, "active").map((a) => a.agent_id)
      .filter((other) => other !== view.agent_id);
    return c.html(
      renderPage(
        base,
        view.name,
        "/agents",
        <AgentDetail view={view} base={base} others={others} />,
      ),
    );
  });
  return app;
}
