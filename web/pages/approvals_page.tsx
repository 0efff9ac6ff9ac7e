/** @jsxImportSource hono/jsx */
// Pages are rendered once on the server, never diffed, so React's list keys mean nothing here.
// deno-lint-ignore-file jsx-key
/**
 * Every approval request at `/approvals`: pending ones with their question,
 * exact grant, countdown and Approve / Always / Deny; decided ones with who
 * decided (a timeout shown as such); and the standing "always" rules, each
 * with Revoke.
 */
import { Hono } from "hono";
import type { ApprovalRow, ApprovalRuleRow } from "../../store/mod.ts";
import type { WebDeps } from "../deps.ts";
import {
  alwaysText,
  ApprovalButtons,
  ApprovalDetails,
  Countdown,
  decidedText,
} from "./approval_buttons.tsx";
import { when } from "./format.ts";
import { renderPage } from "./layout.tsx";
import { Empty, Json, Status } from "./ui.tsx";

/** A data-flow request in words: whose data would flow to which agent and tools, and a preview. */
function DataFlowLine(props: { request: Record<string, unknown> }) {
  const r = props.request;
  const tools = Array.isArray(r.network_tools) ? r.network_tools.join(", ") : "";
  return (
    <div class="data-flow">
      Private data of subtask <b>{String(r.from_task_id ?? "?")}</b>{" "}
      ({String(r.from_origin ?? "")}) would flow to agent{" "}
      <span class="mono">{String(r.to_agent_id ?? "?")}</span> for subtask{" "}
      <b>{String(r.to_task_id ?? "?")}</b>, which can reach the network ({tools}).
      <pre class="preview">{String(r.preview ?? "")}</pre>
    </div>
  );
}

/** A create request in words: the question, and the hosts the new agent would reach. */
function AgentCreateLine(props: { request: Record<string, unknown> }) {
  const r = props.request;
  const hosts = Array.isArray(r.network_hosts) ? r.network_hosts.map(String) : [];
  return (
    <div class="agent-create">
      {String(r.summary ?? "")}
      {hosts.length > 0 && (
        <p>
          Network hosts its programs may reach through the proxy:{" "}
          <span class="mono">{hosts.join(", ")}</span>
        </p>
      )}
    </div>
  );
}

function ApprovalItem(props: { a: ApprovalRow; base: string }) {
  const { a, base } = props;
  return (
    <li>
      <Status value={a.status} /> <b>{a.kind}</b>{" "}
      {a.run_id && <a href={`${base}/runs/${a.run_id}`} class="mono">{a.run_id.slice(0, 12)}</a>}
      {" "}
      <span class="muted">{when(a.created_at)}</span>
      {a.status === "pending" && <Countdown expiresAt={a.expires_at} />}
      {a.kind === "data_flow" && <DataFlowLine request={a.request_data} />}
      {a.kind === "agent_create" && !a.request_data.details && (
        <AgentCreateLine request={a.request_data} />
      )}
      {a.kind !== "data_flow" && <ApprovalDetails request={a.request_data} />}
      <Json value={a.request_data} />
      {a.status === "pending" && (
        <ApprovalButtons id={a.approval_id} base={base} always={alwaysText(a.request_data)} />
      )}
      {a.status !== "pending" && <span class="muted">{decidedText(a)}</span>}
    </li>
  );
}

/** The standing "always" rules, newest first, each with Revoke. */
function Rules(props: { rules: ApprovalRuleRow[]; base: string }) {
  const { rules, base } = props;
  return (
    <section id="approval-rules">
      <h2>Always rules</h2>
      {rules.length === 0
        ? <Empty>No standing rules. Answer "Always" to a request to make one.</Empty>
        : (
          <ul class="list">
            {rules.map((r) => (
              <li>
                <b class="mono">{r.rule_id}</b> {r.kind} for {r.scope}{" "}
                <span class="mono">{r.subject}</span>{" "}
                <span class="muted">
                  by {r.created_by}, {when(r.created_at)}, used {r.uses} time(s)
                </span>{" "}
                <button
                  type="button"
                  class="button danger"
                  data-action="POST"
                  data-url={`${base}/api/approvals/rules/${r.rule_id}/revoke`}
                  data-confirm={`Revoke ${r.rule_id}? Later requests will be asked again.`}
                >
                  Revoke
                </button>
                <Json value={r.grant} />
              </li>
            ))}
          </ul>
        )}
    </section>
  );
}

export function approvalsPage(deps: WebDeps, base: string): Hono {
  const app = new Hono();
  app.get("/approvals", (c) => {
    const all = deps.store.approvals.list({ limit: 200 });
    const rules = deps.store.approvalRules.list();
    return c.html(renderPage(
      base,
      "Approvals",
      "/approvals",
      <>
        {all.length === 0
          ? <Empty>No approval requests yet.</Empty>
          : (
            <ul class="list" id="approval-list">
              {all.map((a) => <ApprovalItem a={a} base={base} />)}
            </ul>
          )}
        <Rules rules={rules} base={base} />
      </>,
    ));
  });
  return app;
}
