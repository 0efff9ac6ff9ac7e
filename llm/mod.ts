/**
 * The LLM layer: every model call of the product goes through an
 * `LlmService` built by `createLlmService` (providers, retries, circuit
 * breaker, budgets, accounting, structured output, record/replay).
 *
 * @example
 * ```ts
 * const { config, notice } = await resolveLlm(settings);
 * const llm = createLlmService({ settings, store, config });
 * const { value } = await llm.structured(z.object({ ok: z.boolean() }), {
 *   messages: [{ role: "user", content: "Is the sky blue? Answer as JSON." }],
 *   schemaName: "answer",
 * }, { purpose: "judge" });
 * ```
 * @module
 */
export * from "./types.ts";
export * from "./errors.ts";
export * from "./provider_config.ts";
export { costOf, type ModelPrice, priceFor, PRICES } from "./prices.ts";
export { createLlmService, type LlmServiceOptions } from "./service.ts";
export { type ResolvedLlm, resolveLlm } from "./detect.ts";
export { probeProvider, type ProbeResult, type ProbeStatus } from "./probe.ts";
export { CassetteRecorder, createReplayClient, readCassette, requestHash } from "./cassette.ts";
export { createProviderClient } from "./providers/mod.ts";
