/** SDK error mapping: provider failures become typed LlmErrors. */
import assert from "node:assert/strict";
import { toLlmError } from "../../llm/providers/_errors.ts";
import type { ProviderConfig } from "../../llm/provider_config.ts";

const config: ProviderConfig = {
  provider: "gemini",
  model: "gemini-2.5-flash",
  apiKey: "k",
  keySource: "GEMINI_API_KEY",
  baseUrl: "http://127.0.0.1:1234",
  timeoutMs: 1000,
  maxRetries: 1,
};

Deno.test("toLlmError: statuses, Retry-After (header or Gemini body), network and timeouts", () => {
  const withStatus = (status: number, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(extra.message as string ?? "boom"), { status, ...extra });

  const auth = toLlmError(withStatus(401), config);
  assert.equal(auth.kind, "auth");
  assert.match(auth.toLine(), /gemini refused the key \(HTTP 401\).*Check GEMINI_API_KEY/);

  const limited = toLlmError(
    withStatus(429, { headers: new Headers({ "retry-after": "3" }) }),
    config,
  );
  assert.equal(limited.retryAfterMs, 3000);
  assert.equal(limited.retryable, true);
  const body = JSON.stringify({ error: { details: [{ retryDelay: "2s" }] } });
  assert.equal(toLlmError(withStatus(429, { message: body }), config).retryAfterMs, 2000);

  assert.equal(toLlmError(withStatus(503), config).kind, "server_error");
  assert.equal(toLlmError(withStatus(400), config).kind, "bad_request");
  assert.match(toLlmError(withStatus(404), config).message, /has no model "gemini-2.5-flash"/);

  const network = toLlmError(new TypeError("fetch failed"), config);
  assert.equal(network.kind, "network");
  assert.match(network.message, /Cannot reach gemini at http:\/\/127\.0\.0\.1:1234/);
  const timeout = Object.assign(new Error("slow"), { name: "TimeoutError" });
  assert.equal(toLlmError(timeout, config).kind, "timeout");
  assert.equal(toLlmError(new SyntaxError("Unexpected token"), config).kind, "malformed");
});
