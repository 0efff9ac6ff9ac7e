/**
 * The LLM layer: every model call of the product goes through an
 * `LlmService` built by `createLlmService` (providers, retries, circuit
 * breaker, budgets, accounting, structured output, record/replay).
 *
 * @example
 * ```ts
 * import { z } from "zod";
 * import { createLlmService, resolveLlm } from "./mod.ts";
 * import { loadSettings } from "../core/mod.ts";
 * import { openStore } from "../store/mod.ts";
 *
 * const settings = loadSettings();
 * const store = openStore(settings.dbPath);
 * const { config, notice } = await resolveLlm(settings);
 * if (notice) console.error(notice);
 * const llm = createLlmService({ settings, store, config });
 * const { value } = await llm.structured(z.object({ ok: z.boolean() }), {
 *   messages: [{ role: "user", content: "Is the sky blue? Answer as JSON." }],
 *   schemaName: "answer",
 * }, { purpose: "judge" });
 * console.log(value.ok);
 * store.close();
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
