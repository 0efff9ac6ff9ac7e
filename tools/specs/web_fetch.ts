/** Host spec of `web_fetch`: GET a public page as readable text. */
import { z } from "zod";
import { webFetchTool } from "../../guest/tools/web_fetch.ts";
import { checkNetworkCall, timeoutArg } from "./_shared.ts";
import { defineHostTool, type HostToolSpec } from "./types.ts";

export const webFetchSpec: HostToolSpec<"web_fetch"> = defineHostTool(webFetchTool, {
  description:
    "Fetch a public web page with GET and return its readable text as {status_code, text, " +
    "content_type, raw_length}. HTML is converted to plain text (scripts, styles and markup removed) and cut " +
    "at 8,000 characters; other text is cut at 10,000. Private and local addresses are refused; redirects " +
    "are followed (max 5). Default timeout 20 s (max 120).",
  argsSchema: z.object({
    url: z.string().min(1).max(8192).describe("Absolute http:// or https:// URL of a public page."),
    timeout_s: timeoutArg(20, webFetchTool.maxTimeoutS),
  }).strict(),
  riskLevel: "low",
  check: (args, options) => checkNetworkCall("web_fetch", args.url, "GET", options),
  // The network itself is granted by permission class (the launcher's --allow-net).
  launch: () => ({}),
});
