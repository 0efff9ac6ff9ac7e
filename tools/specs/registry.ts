/**
 * The host's list of tool specs. Its keys are checked against the guest
 * registry's names by the compiler (a tool without a host spec does not
 * type-check); its order is the guest registry's.
 */
import { TOOL_NAME_LIST, type ToolName } from "../../guest/tools/registry.ts";
import { fileIoSpec } from "./file_io.ts";
import { httpApiSpec } from "./http_api.ts";
import { pythonExecSpec } from "./python_exec.ts";
import { sqlQuerySpec } from "./sql_query.ts";
import { terminalSpec } from "./terminal.ts";
import type { HostToolSpec } from "./types.ts";
import { webFetchSpec } from "./web_fetch.ts";

const SPECS: { readonly [N in ToolName]: HostToolSpec<N> } = {
  terminal: terminalSpec,
  http_api: httpApiSpec,
  web_fetch: webFetchSpec,
  file_io: fileIoSpec,
  python_exec: pythonExecSpec,
  sql_query: sqlQuerySpec,
};

/** Every tool's host spec, in registry order. */
export const HOST_TOOL_SPECS: readonly HostToolSpec[] = Object.freeze(
  TOOL_NAME_LIST.map((name) => SPECS[name] as HostToolSpec),
);

/** The host spec of a tool, or `undefined` for an unknown name. */
export function hostToolSpec(name: string): HostToolSpec | undefined {
  return HOST_TOOL_SPECS.find((spec) => spec.name === name);
}
