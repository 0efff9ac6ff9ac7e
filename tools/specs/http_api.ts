/** Host spec of `http_api`: a request to a public http(s) API. */
import { z } from "zod";
import { HTTP_METHODS } from "../../guest/tools/http.ts";
import { httpApiTool } from "../../guest/tools/http_api.ts";
import { checkNetworkCall, scalar, timeoutArg } from "./_shared.ts";
import { defineHostTool, type HostToolSpec } from "./types.ts";

export const httpApiSpec: HostToolSpec<"http_api"> = defineHostTool(httpApiTool, {
  description:
    "Make an HTTP request to a public http(s) API and return {status_code, headers, text}. " +
    "`json` is sent as a JSON body, `params` are added to the query string. Private, loopback, link-local " +
    "and cloud-metadata addresses are refused, and so are credentials in the URL. Redirects are followed " +
    "(max 5) only for GET and HEAD. The response text is cut at 10,000 characters; only a few response " +
    "headers are returned. Default timeout 20 s (max 120). Success means status 200–399.",
  argsSchema: z.object({
    method: z.enum(HTTP_METHODS).default("GET").describe("HTTP method (default GET)."),
    url: z.string().min(1).max(8192).describe("Absolute http:// or https:// URL of a public host."),
    headers: z.record(z.string(), scalar).default({}).describe("Request headers."),
    json: z.unknown().optional().describe("Request body, sent as JSON."),
    params: z.record(z.string(), z.union([scalar, z.array(scalar)])).default({})
      .describe("Query-string parameters added to the URL."),
    timeout_s: timeoutArg(20, httpApiTool.maxTimeoutS),
  }).strict(),
  riskLevel: "medium",
  check: (args, options) =>
    checkNetworkCall("http_api", args.url, String(args.method ?? "GET"), options),
  // The network itself is granted by permission class (the launcher's --allow-net).
  launch: () => ({}),
});
