/**
 * `createLlmService`: one configured provider wrapped with a per-call
 * timeout, retries (jittered exponential backoff, honouring Retry-After), a
 * persisted per-provider circuit breaker, run budgets, accounting of every
 * attempt in llm_calls, structured output with one repair retry, and
 * record/replay.
 *
 * @example
 * ```ts
 * const llm = createLlmService({ settings, store });
 * const reply = await llm.complete(
 *   { messages: [{ role: "user", content: "Say hi" }] },
 *   { runId, purpose: "synthesize" },
 * );
 * ```
 * @module
 */
import { resolve } from "node:path";
import { z } from "zod";
import type { Settings } from "../core/settings.ts";
import type { Store } from "../store/mod.ts";
import { CircuitBreaker, MemoryBreakers } from "./breaker.ts";
import { CassetteRecorder } from "./cassette.ts";
import { LlmError } from "./errors.ts";
import { costOf } from "./prices.ts";
import { probeProvider } from "./probe.ts";
import {
  missingKeyError,
  PROVIDER_INFO,
  type ProviderConfig,
  type ProviderOverrides,
  resolveProviderConfig,
} from "./provider_config.ts";
import { createProviderClient } from "./providers/mod.ts";
import { toLlmError } from "./providers/_errors.ts";
import type {
  CallMeta,
  CompletionRequest,
  CompletionResponse,
  LlmService,
  ProviderClient,
  StructuredResult,
} from "./types.ts";

export interface LlmServiceOptions {
  settings: Settings;
  /** Where llm_calls and the circuit breaker live; without it both are kept in memory. */
  store?: Store;
  /** `--llm-provider` / `--llm-model`. */
  overrides?: ProviderOverrides;
  /** An already resolved configuration (e.g. from `resolveLlm`); wins over `overrides`. */
  config?: ProviderConfig;
  /** Cassette path to record every answered call to. */
  record?: string;
  /** Cassette path to answer from (the `replay` provider). */
  replay?: string;
  /** Per-run limits; each field wins over its setting. 0 means no limit. */
  budget?: { maxCostUsd?: number; maxTokens?: number };
  /** A provider client to use instead of building one (tests). */
  client?: ProviderClient;
  /** Timing knobs (tests use small values). */
  timing?: { timeoutMs?: number; retryBaseMs?: number; breakerResetSec?: number };
  /** Told once per model that has no price (its calls count as $0). */
  onWarning?: (line: string) => void;
}

/** Retry-After waits longer than this are not waited for: the call fails instead. */
const MAX_RETRY_AFTER_MS = 60_000;
const MAX_BACKOFF_MS = 20_000;
/** Kinds that say the provider itself is unhealthy (they count for the breaker). */
const PROVIDER_FAILURES = new Set(["server_error", "network", "timeout", "malformed"]);

/** Why a reply did not validate, or null when it did. */
type Check = (response: CompletionResponse) => string | null;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", finish);
      done();
    }
    signal?.addEventListener("abort", finish, { once: true });
  });
}

/** Jittered exponential backoff, or the server's Retry-After when it gave one. */
function retryDelay(attempt: number, baseMs: number, error: LlmError): number {
  if (error.retryAfterMs !== undefined) return error.retryAfterMs;
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Parses JSON, tolerating a ```json fence around it. */
function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const fenced = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/i.exec(text);
  try {
    return { ok: true, value: JSON.parse(fenced ? fenced[1] : text) };
  } catch (error) {
    return { ok: false, error: `the reply is not JSON (${(error as Error).message})` };
  }
}

function validate<T>(schema: z.ZodType<T>, text: string) {
  const json = parseJson(text);
  if (!json.ok) return { ok: false as const, error: json.error };
  const result = schema.safeParse(json.value);
  return result.success
    ? { ok: true as const, value: result.data }
    : { ok: false as const, error: z.prettifyError(result.error) };
}

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema) as Record<string, unknown>;
  return rest;
}

/** Creates the service every model call of the product goes through. */
export function createLlmService(options: LlmServiceOptions): LlmService {
  const { settings, store } = options;
  const config = options.config ?? resolveProviderConfig(settings, options.overrides);
  const replayPath = options.replay ??
    (settings.replayCassette ? resolve(settings.cwd, settings.replayCassette) : undefined);
  const replaying = options.replay !== undefined || config.provider === "replay";
  if (
    !options.client && !replaying && PROVIDER_INFO[config.provider].keyRequired && !config.apiKey
  ) {
    throw missingKeyError(config);
  }
  const client = options.client ??
    createProviderClient(replaying ? { ...config, provider: "replay" } : config, {
      replayCassette: replayPath,
    });
  const recorder = options.record ? new CassetteRecorder(options.record) : undefined;
  const timeoutMs = options.timing?.timeoutMs ?? config.timeoutMs;
  const retryBaseMs = options.timing?.retryBaseMs ?? 500;
  const breaker = new CircuitBreaker(
    store?.breakers ?? new MemoryBreakers(),
    client.provider,
    settings.circuitBreakerFailures,
    options.timing?.breakerResetSec ?? settings.circuitBreakerResetSec,
  );
  const maxCostUsd = options.budget?.maxCostUsd ?? settings.maxCostUsdPerRun;
  const maxTokens = options.budget?.maxTokens ?? settings.maxTokensPerRun;
  const memoryUsage = new Map<
    string,
    { inputTokens: number; outputTokens: number; costUsd: number }
  >();
  const unpriced = new Set<string>();

  function runUsage(runId: string) {
    if (!store) {
      return { ...(memoryUsage.get(runId) ?? { inputTokens: 0, outputTokens: 0, costUsd: 0 }) };
    }
    const t = store.llmCalls.totals({ runId });
    return { inputTokens: t.input_tokens, outputTokens: t.output_tokens, costUsd: t.cost_usd };
  }

  function account(
    meta: CallMeta,
    row: {
      model: string;
      usage?: CompletionResponse["usage"];
      costUsd: number;
      latencyMs: number;
      outcome: string;
      error: string;
    },
  ): void {
    const inputTokens = row.usage?.inputTokens ?? 0;
    const outputTokens = row.usage?.outputTokens ?? 0;
    if (store) {
      store.llmCalls.insert({
        run_id: meta.runId ?? null,
        task_id: meta.taskId ?? null,
        agent_id: meta.agentId ?? null,
        purpose: meta.purpose,
        provider: client.provider,
        model: row.model,
        input_tokens: inputTokens,
        output_tokens: outputTokens,
        cost_usd: row.costUsd,
        latency_ms: Math.round(row.latencyMs),
        outcome: row.outcome,
        error: row.error,
      });
    } else if (meta.runId) {
      const total = runUsage(meta.runId);
      memoryUsage.set(meta.runId, {
        inputTokens: total.inputTokens + inputTokens,
        outputTokens: total.outputTokens + outputTokens,
        costUsd: total.costUsd + row.costUsd,
      });
    }
  }

  function fail(meta: CallMeta, error: LlmError, latencyMs = 0): LlmError {
    account(meta, {
      model: client.model,
      costUsd: 0,
      latencyMs,
      outcome: error.kind,
      error: error.message,
    });
    return error;
  }

  function checkBudget(meta: CallMeta): void {
    if (!meta.runId) return;
    const used = runUsage(meta.runId);
    const tokens = used.inputTokens + used.outputTokens;
    let reason = "";
    if (maxCostUsd > 0 && used.costUsd >= maxCostUsd) {
      reason = `has spent $${used.costUsd.toFixed(4)} of its $${maxCostUsd} budget ` +
        "(CLOSED_CLAW_MAX_COST_USD_PER_RUN or --max-cost-usd)";
    } else if (maxTokens > 0 && tokens >= maxTokens) {
      reason = `has used ${tokens} of its ${maxTokens} tokens (CLOSED_CLAW_MAX_TOKENS_PER_RUN)`;
    }
    if (reason) {
      throw fail(
        meta,
        new LlmError("budget_exceeded", client.provider, `Run ${meta.runId} ${reason}.`, {
          hint: "Raise the budget to continue, or start a smaller task.",
        }),
      );
    }
  }

  function cancelled(): LlmError {
    return new LlmError("cancelled", client.provider, `The ${client.provider} call was cancelled.`);
  }

  /** One attempt, bounded by the timeout; every failure comes back as an LlmError. */
  async function attempt(request: CompletionRequest): Promise<CompletionResponse> {
    const timer = new AbortController();
    const signal = request.signal ? AbortSignal.any([request.signal, timer.signal]) : timer.signal;
    let timeoutId: ReturnType<typeof setTimeout> | undefined;
    // The race makes sure a client that ignores the signal cannot hang the call.
    const stopped = new Promise<never>((_, reject) => {
      timeoutId = setTimeout(() => timer.abort(), timeoutMs);
      signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
    });
    try {
      return await Promise.race([client.complete({ ...request, signal }), stopped]);
    } catch (error) {
      if (request.signal?.aborted) return Promise.reject(cancelled());
      if (timer.signal.aborted) {
        return Promise.reject(
          new LlmError(
            "timeout",
            client.provider,
            `${client.provider} did not answer within ${timeoutMs / 1000} s.`,
            { hint: "Raise CLOSED_CLAW_LLM_TIMEOUT_SEC if the model is slow." },
          ),
        );
      }
      throw toLlmError(error, config);
    } finally {
      clearTimeout(timeoutId);
      stopped.catch(() => {}); // settled by the abort above or never: no unhandled rejection
    }
  }

  /** Adds the models the provider lists to a not_found error, so the user can pick one. */
  async function withChoices(error: LlmError): Promise<LlmError> {
    if (error.kind !== "not_found" || client.provider === "replay") return error;
    const probe = await probeProvider(config, { timeoutMs: 3000 });
    if (probe.status !== "ok" || probe.models.length === 0) return error;
    return new LlmError("not_found", error.provider, error.message, {
      status: error.status,
      hint: `Models available there: ${probe.models.slice(0, 20).join(", ")}.`,
      cause: error,
    });
  }

  async function call(request: CompletionRequest, meta: CallMeta, check?: Check) {
    checkBudget(meta);
    for (let n = 0;; n++) {
      // Before the breaker: a cancelled call must not take a half-open circuit's one trial.
      if (request.signal?.aborted) throw fail(meta, cancelled());
      // The breaker counts calls, not attempts: a call is admitted once and, if it fails
      // after its retries, is one failure (so one flaky call cannot open the circuit).
      if (n === 0) {
        try {
          breaker.admit();
        } catch (error) {
          throw fail(meta, error as LlmError);
        }
      }
      const started = performance.now();
      let response: CompletionResponse;
      try {
        response = await attempt(request);
      } catch (thrown) {
        const error = thrown as LlmError;
        fail(meta, error, performance.now() - started);
        const wait = error.retryable && n < config.maxRetries
          ? retryDelay(n, retryBaseMs, error)
          : undefined;
        if (wait === undefined || wait > MAX_RETRY_AFTER_MS) {
          if (PROVIDER_FAILURES.has(error.kind)) breaker.failure(error);
          throw await withChoices(error);
        }
        await sleep(wait, request.signal);
        continue;
      }
      breaker.success();
      const model = response.model || client.model;
      const price = costOf(client.provider, model, response.usage);
      if (!price.priced && !unpriced.has(model)) {
        unpriced.add(model);
        options.onWarning?.(`No price is known for model ${model}: its calls are counted as $0.`);
      }
      const problem = check?.(response) ?? null;
      account(meta, {
        model,
        usage: response.usage,
        costUsd: price.costUsd,
        latencyMs: performance.now() - started,
        outcome: problem === null ? "ok" : "invalid_output",
        error: problem ?? "",
      });
      recorder?.append(meta.purpose, client, request, response);
      return { response: { ...response, costUsd: price.costUsd }, problem };
    }
  }

  async function structured<T>(
    schema: z.ZodType<T>,
    request: Omit<CompletionRequest, "schema"> & { schemaName: string; schemaDescription?: string },
    meta: CallMeta,
  ): Promise<StructuredResult<T>> {
    const { schemaName, schemaDescription, ...rest } = request;
    const outputSchema = {
      name: schemaName,
      description: schemaDescription,
      jsonSchema: jsonSchemaOf(schema),
    };
    const check: Check = (r) => {
      const result = validate(schema, r.text);
      return result.ok ? null : result.error;
    };
    const first = await call({ ...rest, schema: outputSchema }, meta, check);
    if (first.problem === null) {
      return { value: validate(schema, first.response.text).value as T, response: first.response };
    }
    // One repair: show the model its reply and what was wrong with it.
    const repair = await call(
      {
        ...rest,
        schema: outputSchema,
        messages: [
          ...rest.messages,
          { role: "assistant", content: first.response.text },
          {
            role: "user",
            content: `Your reply did not match the ${schemaName} JSON schema:\n${first.problem}\n` +
              "Reply again with only the corrected JSON.",
          },
        ],
      },
      { ...meta, purpose: `${meta.purpose}_repair` },
      check,
    );
    if (repair.problem === null) {
      return {
        value: validate(schema, repair.response.text).value as T,
        response: repair.response,
      };
    }
    throw new LlmError(
      "invalid_output",
      client.provider,
      `The model's reply for ${meta.purpose} did not match the ${schemaName} schema after a repair retry: ${
        repair.problem.split("\n").slice(0, 3).join(" ")
      }`,
      { rawText: repair.response.text, hint: "Try a stronger model (--llm-model)." },
    );
  }

  return {
    provider: client.provider,
    model: client.model,
    complete: async (request, meta) => (await call(request, meta)).response,
    structured,
    runUsage,
  };
}
