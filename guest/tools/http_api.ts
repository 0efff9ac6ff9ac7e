/**
 * The http_api tool's definition: a request to a public API through the
 * SSRF-pinned client (the runner lives in http.ts). Guest-safe.
 */
import { runHttpApi } from "./http.ts";
import { defineGuestTool, type GuestToolDef, type ToolArgs } from "./tool_def.ts";

/** Only GET and HEAD are free of side effects (and the only methods that follow redirects). */
function methodHasSideEffects(args: ToolArgs): boolean {
  const method = typeof args.method === "string" ? args.method.trim().toUpperCase() : "GET";
  return method !== "GET" && method !== "HEAD";
}

/** The http_api tool: reaches hosts; any method but GET and HEAD is a side effect. */
export const httpApiTool: GuestToolDef<"http_api"> = defineGuestTool({
  name: "http_api",
  aliases: { body: "json", data: "json", timeout: "timeout_s" },
  maxTimeoutS: 120,
  coerce: (args) => {
    if (typeof args.method === "string") args.method = args.method.trim().toUpperCase();
  },
  sideEffects: "depends",
  hasSideEffects: methodHasSideEffects,
  permission: "network",
  run: (args, ctx) => runHttpApi(args, ctx),
});
