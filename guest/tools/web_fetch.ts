/**
 * The web_fetch tool's definition: GET a public page and return its text
 * (the runner lives in http.ts). Guest-safe.
 */
import { runWebFetch } from "./http.ts";
import { defineGuestTool, type GuestToolDef } from "./tool_def.ts";

/** The web_fetch tool: reaches hosts, only ever with GET, so it has no side effects. */
export const webFetchTool: GuestToolDef<"web_fetch"> = defineGuestTool({
  name: "web_fetch",
  aliases: { timeout: "timeout_s", link: "url" },
  maxTimeoutS: 120,
  sideEffects: "never",
  permission: "network",
  run: (args, ctx) => runWebFetch(args, ctx),
});
