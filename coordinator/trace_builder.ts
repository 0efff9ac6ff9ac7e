/**
 * Builds a run's spans from its records, one kind of span per method, in the
 * order that lets each find its parent: the run, its plans and subtasks,
 * each subtask's attempts, routing, approval waits, capsule starts and
 * validations, the synthesis, then every model and tool call under the span
 * whose work it was.
 */
import type { RunLogEvent } from "./run_log.ts";
import {
  clip,
  epochMs as ms,
  errorType,
  type RunTrace,
  spanIdOf,
  type SpanKind,
  type SpanValue,
  traceIdOf,
  type TraceInput,
  type TraceSpan,
} from "./trace_model.ts";
import {
  addModelCall,
  addToolCall,
  type SpanPlaces,
  type Window,
  WINDOW_START,
} from "./trace_calls.ts";

const str = (v: unknown): string => (typeof v === "string" ? v : "");

interface Attempt extends Window {
  attempt: number;
  /** Whether its succeeded/failed event was recorded. */
  end: boolean;
}

/** One run's spans while they are built. */
export class TraceBuilder implements SpanPlaces {
  private readonly spans: TraceSpan[] = [];
  readonly byId = new Map<string, TraceSpan>();
  private readonly used = new Map<string, number>();
  private readonly events: RunLogEvent[];
  private readonly runId: string;
  private readonly traceId: string;
  private readonly runStart: number;
  private readonly lastTs: number;
  readonly root: TraceSpan;
  readonly plans: TraceSpan[] = [];
  readonly subtaskSpans = new Map<string, TraceSpan>();
  private readonly attempts: Attempt[] = [];
  readonly routes: Window[] = [];
  readonly validations: (Window & { from: number })[] = [];
  synthesis: TraceSpan | null = null;

  constructor(private readonly input: TraceInput) {
    this.runId = input.run.run_id;
    this.traceId = traceIdOf(this.runId);
    this.events = input.events.filter((e) => Number.isFinite(ms(e.ts)));
    const { events } = this;
    this.lastTs = events.length ? ms(events[events.length - 1].ts) : ms(input.run.created_at);
    this.runStart = Math.min(
      ms(input.run.created_at),
      events.length ? ms(events[0].ts) : Infinity,
    );
    this.root = this.rootSpan();
  }

  /** Every span: the root first, then by start time. */
  build(): RunTrace {
    this.addPlans();
    this.addSubtasks();
    this.addAttempts();
    this.addRoutes();
    this.addApprovals();
    this.addCapsuleStarts();
    this.addValidations();
    this.addSynthesis();
    for (const call of this.input.llmCalls) addModelCall(this, call);
    for (const tool of this.input.toolEvents) addToolCall(this, tool);
    for (const p of this.plans) delete p.attributes[WINDOW_START];
    const [first, ...rest] = this.spans;
    rest.sort((a, b) => a.start_ms - b.start_ms);
    return { trace_id: this.traceId, run_id: this.runId, spans: [first, ...rest] };
  }

  make(
    key: string,
    kind: SpanKind,
    name: string,
    parent: TraceSpan | null,
    start: number,
    end: number,
    attributes: Record<string, SpanValue> = {},
  ): TraceSpan {
    // The same key twice (an attempt number reused after a resume) gets its own id.
    const seen = this.used.get(key) ?? 0;
    this.used.set(key, seen + 1);
    const span: TraceSpan = {
      trace_id: this.traceId,
      span_id: spanIdOf(this.runId, seen ? `${key}#${seen}` : key),
      parent_span_id: parent?.span_id ?? null,
      name,
      kind,
      start_ms: start,
      end_ms: Math.max(start, end),
      status: "unset",
      status_message: "",
      attributes,
    };
    this.spans.push(span);
    this.byId.set(span.span_id, span);
    return span;
  }

  private rootSpan(): TraceSpan {
    const { run } = this.input;
    const { events, lastTs } = this;
    const runEnd = run.status === "running"
      ? lastTs
      : Math.max(ms(run.finished_at) || lastTs, lastTs);
    const root = this.make("run", "run", "run", null, this.runStart, runEnd, {
      "closed_claw.run_id": this.runId,
      "closed_claw.task": clip(run.task, 500),
      "closed_claw.status": run.status,
      "gen_ai.operation.name": "invoke_workflow",
      "closed_claw.resumes": events.filter((e) => e.event === "run_resumed").length,
    });
    if (run.session_id) root.attributes["gen_ai.conversation.id"] = run.session_id;
    const resumed = events.filter((e) => e.event === "run_resumed").pop();
    if (resumed) root.attributes["closed_claw.resumed_at"] = resumed.ts;
    if (run.input_tokens !== undefined) {
      root.attributes["gen_ai.usage.input_tokens"] = run.input_tokens;
      root.attributes["gen_ai.usage.output_tokens"] = run.output_tokens ?? 0;
      root.attributes["closed_claw.cost_usd"] = run.cost_usd ?? 0;
    }
    setStatus(root, run.status, run.error_message ?? "");
    return root;
  }

  /** One span per task_plan_created, from the previous boundary to the event. */
  private addPlans(): void {
    let boundary = this.runStart;
    for (const e of this.events) {
      if (e.event === "run_resumed" || e.event === "task_ingested") boundary = ms(e.ts);
      if (e.event !== "task_plan_created") continue;
      const phase = str(e.payload.phase) || "plan";
      const span = this.make(
        `plan/${phase}`,
        "plan",
        `plan ${phase}`,
        this.root,
        ms(e.ts),
        ms(e.ts),
        {
          "closed_claw.phase": phase,
          "closed_claw.subtask_count": Number(e.payload.subtask_count ?? 0),
        },
      );
      span.attributes[WINDOW_START] = boundary;
      span.status = "ok";
      this.plans.push(span);
      boundary = ms(e.ts);
    }
  }

  /** A span for every task id that an event or a row names. */
  private addSubtasks(): void {
    const subtasks = this.input.subtasks ?? [];
    const rows = new Map(subtasks.map((r) => [r.task_id, r]));
    const taskIds: string[] = [];
    const addTask = (id: string) => id && !taskIds.includes(id) && taskIds.push(id);
    for (const row of subtasks) addTask(row.task_id);
    for (const e of this.events) addTask(str(e.payload.task_id));
    for (const taskId of taskIds) {
      const own = this.events.filter((e) => e.payload.task_id === taskId);
      const row = rows.get(taskId);
      const times = [...own.map((e) => ms(e.ts)), ms(row?.started_at), ms(row?.finished_at)]
        .filter(Number.isFinite);
      if (!times.length) continue;
      const span = this.make(
        `subtask/${taskId}`,
        "subtask",
        `subtask ${taskId}`,
        this.root,
        Math.min(...times),
        Math.max(...times),
        { "closed_claw.task_id": taskId },
      );
      if (row) {
        Object.assign(span.attributes, {
          "closed_claw.phase": row.phase,
          "closed_claw.title": clip(row.title, 200),
          "closed_claw.role_tag": row.role_tag,
          "closed_claw.attempts": row.attempts,
        });
        if (row.assigned_agent_id) span.attributes["gen_ai.agent.id"] = row.assigned_agent_id;
        setStatus(span, row.status, row.error ?? "");
      }
      this.subtaskSpans.set(taskId, span);
    }
  }

  /** subtask_attempt_started until its succeeded/failed event (or the run's end). */
  private addAttempts(): void {
    const { events } = this;
    for (const [i, e] of events.entries()) {
      if (e.event !== "subtask_attempt_started") continue;
      const taskId = str(e.payload.task_id);
      const parent = this.subtaskSpans.get(taskId);
      if (!parent) continue;
      const attempt = Number(e.payload.attempt ?? 0);
      const agentId = str(e.payload.agent_id);
      const close = events.slice(i + 1).find((x) =>
        (x.payload.task_id === taskId &&
          (x.event === "subtask_attempt_succeeded" || x.event === "subtask_attempt_failed") &&
          Number(x.payload.attempt ?? 0) === attempt) ||
        x.event === "run_finished" || x.event === "run_resumed"
      );
      const ended = close && close.event.startsWith("subtask_attempt_");
      const span = this.make(
        `attempt/${taskId}/${attempt}`,
        "attempt",
        `invoke_agent ${agentId || taskId}`,
        parent,
        ms(e.ts),
        close ? ms(close.ts) : this.lastTs,
        {
          "gen_ai.operation.name": "invoke_agent",
          "closed_claw.task_id": taskId,
          "closed_claw.attempt": attempt,
        },
      );
      if (agentId) span.attributes["gen_ai.agent.id"] = agentId;
      if (ended && close!.event === "subtask_attempt_succeeded") span.status = "ok";
      else if (ended) {
        span.status = "error";
        span.status_message = clip(str(close!.payload.error));
        span.attributes["error.type"] = errorType(str(close!.payload.error));
      } else if (this.input.run.status !== "running" || close) {
        span.status = "error";
        span.status_message = "interrupted";
      }
      this.attempts.push({ span, taskId, attempt, end: Boolean(ended) });
    }
  }

  /**
   * The attempt of a subtask at time `t` (or with that number). An attempt
   * that never ended (a crash, a run still going) holds what came after it,
   * until the subtask's next attempt.
   */
  attemptAt(taskId: string, t: number, attempt?: number): Attempt | undefined {
    const until = (a: Attempt) =>
      a.end
        ? a.span.end_ms + 1
        : (this.attempts.find((b) => b.taskId === a.taskId && b.span.start_ms > a.span.start_ms)
          ?.span.start_ms ?? Infinity);
    const fits = this.attempts.filter((a) =>
      a.taskId === taskId && (attempt === undefined || a.attempt === attempt)
    );
    return fits.find((a) => t >= a.span.start_ms && t <= until(a)) ??
      (attempt !== undefined ? fits[fits.length - 1] : undefined);
  }

  /** One span per routing_decision, from its task_embedded to the agent it settled on. */
  private addRoutes(): void {
    const { events } = this;
    for (const [i, e] of events.entries()) {
      if (e.event !== "routing_decision") continue;
      const taskId = str(e.payload.task_id);
      const parent = this.subtaskSpans.get(taskId);
      if (!parent) continue;
      const before = events.slice(0, i).reverse().find((x) =>
        x.payload.task_id === taskId && x.event === "task_embedded"
      );
      const after = events.slice(i + 1).find((x) =>
        x.payload.task_id === taskId &&
        (x.event === "agent_created_for_role" || x.event === "agent_reused_for_role" ||
          x.event === "subtask_attempt_started" || x.event === "subtask_attempt_failed")
      );
      const settled = after && after.event.startsWith("agent_") ? after : null;
      const span = this.make(
        `route/${taskId}`,
        "route",
        `route ${taskId}`,
        parent,
        ms((before ?? e).ts),
        ms((settled ?? e).ts),
        {
          "closed_claw.task_id": taskId,
          "closed_claw.decision": str(e.payload.decision),
          "closed_claw.rerank_method": str(e.payload.rerank_method),
          "closed_claw.effective_score": Number(e.payload.effective_score ?? 0),
        },
      );
      const agentId = str(settled?.payload.agent_id) || str(e.payload.chosen);
      if (agentId) span.attributes["gen_ai.agent.id"] = agentId;
      span.status = "ok";
      this.routes.push({ span, taskId });
    }
  }

  /** approval_request until approval_resolved, under the route or attempt it held up. */
  private addApprovals(): void {
    const { events } = this;
    for (const [i, e] of events.entries()) {
      if (e.event !== "approval_request") continue;
      const id = str(e.payload.approval_id);
      const request = (e.payload.request ?? {}) as Record<string, unknown>;
      const taskId = str(request.task_id);
      const resolved = events.slice(i + 1).find((x) =>
        x.event === "approval_resolved" && x.payload.approval_id === id
      );
      const t = ms(e.ts);
      const parent = this.routes.find((r) =>
        r.taskId === taskId && t >= r.span.start_ms && t <= r.span.end_ms
      )?.span ?? this.attemptAt(taskId, t)?.span ?? this.subtaskSpans.get(taskId) ?? this.root;
      const span = this.make(
        `approval/${id}`,
        "approval",
        `approval ${str(e.payload.kind)}`,
        parent,
        t,
        resolved ? ms(resolved.ts) : this.lastTs,
        { "closed_claw.approval_id": id, "closed_claw.approval_kind": str(e.payload.kind) },
      );
      if (taskId) span.attributes["closed_claw.task_id"] = taskId;
      if (resolved) {
        const approved = resolved.payload.approved === true;
        span.attributes["closed_claw.approved"] = approved;
        span.attributes["closed_claw.operator"] = str(resolved.payload.operator);
        span.status = approved ? "ok" : "error";
        if (!approved) span.status_message = clip(str(resolved.payload.note) || "denied");
      }
    }
  }

  /** From the attempt's start until the capsule said it was up. */
  private addCapsuleStarts(): void {
    for (const e of this.events) {
      if (e.event !== "capsule_started") continue;
      const taskId = str(e.payload.task_id);
      const attempt = this.attemptAt(taskId, ms(e.ts));
      if (!attempt) continue;
      const span = this.make(
        `capsule/${taskId}/${attempt.attempt}`,
        "capsule_start",
        "capsule_start",
        attempt.span,
        attempt.span.start_ms,
        ms(e.ts),
        {
          "closed_claw.task_id": taskId,
          "closed_claw.sandbox": str(e.payload.sandbox),
          "closed_claw.spawn_ms": Number(e.payload.spawn_ms ?? 0),
        },
      );
      if (str(e.payload.agent_id)) span.attributes["gen_ai.agent.id"] = str(e.payload.agent_id);
      if (str(e.payload.worker)) span.attributes["closed_claw.worker"] = str(e.payload.worker);
      // Already running when its subtask came: started ahead, or kept from the agent's last one.
      if (str(e.payload.warm)) span.attributes["closed_claw.warm"] = str(e.payload.warm);
      span.status = "ok";
    }
  }

  /** The judge's calls of an attempt up to its verdict. */
  private addValidations(): void {
    for (const e of this.events) {
      if (e.event !== "subtask_verdict") continue;
      const taskId = str(e.payload.task_id);
      const attempt = this.attemptAt(taskId, ms(e.ts), Number(e.payload.attempt ?? 0));
      if (!attempt) continue;
      const passed = e.payload.passed === true;
      const span = this.make(
        `validation/${taskId}/${attempt.attempt}`,
        "validation",
        "validation",
        attempt.span,
        ms(e.ts),
        ms(e.ts),
        { "closed_claw.task_id": taskId, "closed_claw.passed": passed },
      );
      span.status = passed ? "ok" : "error";
      if (!passed) span.status_message = "acceptance criteria not met";
      this.validations.push({ span, taskId, from: attempt.span.start_ms });
    }
  }

  /** Its call (if any) up to synthesis_complete. */
  private addSynthesis(): void {
    for (const e of this.events) {
      if (e.event !== "synthesis_complete") continue;
      const span = this.make("synthesis", "synthesis", "synthesis", this.root, ms(e.ts), ms(e.ts), {
        "closed_claw.llm_synthesized": e.payload.llm_synthesized === true,
      });
      if (str(e.payload.reason)) span.attributes["closed_claw.reason"] = str(e.payload.reason);
      span.status = "ok";
      this.synthesis = span;
    }
  }
}

function setStatus(span: TraceSpan, status: string, error: string): void {
  if (status === "ok" || status === "completed") span.status = "ok";
  else if (["running", "pending", "waiting", "in_progress"].includes(status)) {
    span.status = "unset";
  } else {
    span.status = "error";
    span.status_message = clip(error || status);
    span.attributes["error.type"] = errorType(error) || status;
  }
}
