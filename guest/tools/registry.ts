/**
 * The guest's list of tools, in their fixed listing order. Every table that
 * names the tools (names, aliases, coercions, dispatch, the launcher's classes, the
 * host's specs) is derived from this list, so a new tool is one definition
 * file plus one line here (and its host spec). Guest-safe.
 */
import { fileIoTool } from "./file_io.ts";
import { httpApiTool } from "./http_api.ts";
import { pythonExecTool } from "./python_exec.ts";
import { sqlQueryTool } from "./sql_query.ts";
import { terminalTool } from "./terminal.ts";
import type { GuestToolDef, PermissionClass } from "./tool_def.ts";
import { webFetchTool } from "./web_fetch.ts";

/** Every tool the guest can run. */
export const GUEST_TOOLS = [
  terminalTool,
  httpApiTool,
  webFetchTool,
  fileIoTool,
  pythonExecTool,
  sqlQueryTool,
] as const;

/**
 * One of the tool names. Spelled out (the public API documents it), and
 * checked below against the registry so the two cannot drift apart.
 */
export type ToolName =
  | "terminal"
  | "http_api"
  | "web_fetch"
  | "file_io"
  | "python_exec"
  | "sql_query";

type RegistryName = typeof GUEST_TOOLS[number]["name"];
/** Fails to type-check when ToolName and the registry list different tools. */
const _sameNames: [ToolName] extends [RegistryName]
  ? ([RegistryName] extends [ToolName] ? true : never)
  : never = true;

/** The tool names in registry order (a non-empty tuple, as `z.enum` wants). */
export const TOOL_NAME_LIST = Object.freeze(GUEST_TOOLS.map((tool) => tool.name)) as readonly [
  ToolName,
  ...ToolName[],
];

const BY_NAME = new Map<string, GuestToolDef<ToolName>>(
  GUEST_TOOLS.map((tool) => [tool.name, tool]),
);

/** Whether `name` is one of the tool names. */
export function isToolName(name: unknown): name is ToolName {
  return typeof name === "string" && BY_NAME.has(name);
}

/** The definition of a tool, or `undefined` for an unknown name. */
export function guestTool(name: string): GuestToolDef<ToolName> | undefined {
  return BY_NAME.get(name);
}

/** The tools of one permission class, in registry order. */
export function toolsWithPermission(permission: PermissionClass): readonly ToolName[] {
  return Object.freeze(GUEST_TOOLS.filter((t) => t.permission === permission).map((t) => t.name));
}
