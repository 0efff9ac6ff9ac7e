/** The tool context the tool tests start from. */
import type { ToolContext } from "../../guest/tools/run.ts";

/** Reads anywhere in `workspace`, writes nowhere, no SQL files or hosts, unless `extra` says so. */
export function toolContext(workspace: string, extra: Partial<ToolContext> = {}): ToolContext {
  return {
    workspace,
    readRoots: ["."],
    writeRoots: [],
    fileWrite: false,
    sqlPaths: [],
    networkHosts: [],
    ...extra,
  };
}
