/**
 * Closed Claw as a library: settings, the registry store, agent capsules and
 * the sandboxed tools. The coordinator (`createClaw`) joins this surface once
 * it lands; everything exported here already works on its own.
 *
 * @example
 * ```ts
 * import { createCapsule, loadSettings, openStore } from "./mod.ts";
 *
 * const settings = loadSettings({ env: { CLOSED_CLAW_HOME: "/tmp/claw" }, envFile: false });
 * const store = openStore(settings.dbPath);
 * const manifest = createCapsule(settings.agentsDir, {
 *   name: "Reader",
 *   description: "Reads text files in the workspace",
 *   tools_allowlist: ["file_io"],
 * });
 * console.log(manifest.agent_id);
 * store.close();
 * ```
 *
 * @module
 */
export { VERSION } from "./cli/mod.ts";
export { ClosedClawError } from "./core/errors.ts";
export { loadSettings, type LoadSettingsOptions, type Settings } from "./core/settings.ts";
export { openStore, type Store } from "./store/mod.ts";
export {
  type CapsuleInput,
  createCapsule,
  deleteCapsule,
  listCapsules,
  readManifest,
} from "./capsule_runtime/factory.ts";
export {
  type Manifest,
  parseManifest,
  TOOL_NAMES,
  type ToolName,
} from "./capsule_runtime/manifest.ts";
export {
  type CapsuleEvent,
  type CapsuleHooks,
  type CapsuleResult,
  runCapsule,
  type RunCapsuleOptions,
} from "./capsule_runtime/host.ts";
