/**
 * The tools folder's public surface for the HOST (it imports zod).
 * Guest code imports `guest/tools/run.ts` instead.
 *
 * @module
 */
export {
  hasSideEffects,
  normalizeAliases,
  TOOL_CATALOG,
  type ToolRegistryEntry,
  toolRegistryForAllowlist,
  type ToolSpec,
  toolSpec,
  validateToolArgs,
} from "./catalog.ts";
export {
  checkToolCall,
  type HostCheckOptions,
  type PaidApiApproval,
  type ToolDecision,
} from "./host_check.ts";
export { paidProviderFor } from "../guest/policy/paid_api.ts";
export {
  checkPath,
  type PathCheck,
  type PathMode,
  type PathPolicy,
} from "../guest/policy/paths.ts";
export {
  checkUrl,
  type CheckUrlOptions,
  type ResolvedAddress,
  type Resolver,
  type UrlCheck,
} from "../guest/policy/ssrf.ts";
export { checkReadOnlySql, type SqlCheck } from "../guest/policy/sql.ts";
export { truncateText } from "../guest/policy/output.ts";
export { runTool } from "../guest/tools/run.ts";
export type { ToolContext, ToolResult } from "../guest/tools/types.ts";
