/**
 * The tools folder's public surface for the HOST (it imports zod).
 * Guest code imports `tools/guest/run.ts` instead.
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
export { paidProviderFor } from "./policy/paid_api.ts";
export { checkPath, type PathCheck, type PathMode, type PathPolicy } from "./policy/paths.ts";
export {
  checkUrl,
  type CheckUrlOptions,
  type ResolvedAddress,
  type Resolver,
  type UrlCheck,
} from "./policy/ssrf.ts";
export { checkReadOnlySql, type SqlCheck } from "./policy/sql.ts";
export { truncateText } from "./policy/output.ts";
export { runTool } from "./guest/run.ts";
export type { ToolContext, ToolResult } from "./guest/types.ts";
