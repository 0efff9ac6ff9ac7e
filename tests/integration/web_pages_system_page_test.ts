/** The dashboard's System page lists each open circuit breaker with its endpoint and reset time. */
import assert from "node:assert/strict";
import { startWebFixture } from "../helpers/web_fixture.ts";
import { endpointKey } from "../../llm/breaker.ts";

Deno.test("system page: one row per open breaker, with its endpoint, last error and reset time", async () => {
  await using fx = await startWebFixture({ env: { CLOSED_CLAW_CIRCUIT_BREAKER_RESET_SEC: "600" } });
  const empty = await (await fx.api("GET", "/system")).text();
  assert.match(empty, /Circuit breakers/);
  assert.match(empty, /No open circuit breaker/);

  const down = endpointKey("openai", "http://10.0.0.7:8000/v1", "gpt-4o-mini");
  fx.store.breakers.recordFailure(down, "HTTP 503 <from the server>", 1);
  // Failing but below the threshold: still closed, not listed.
  fx.store.breakers.recordFailure(endpointKey("gemini", "", "gemini-2.5-flash"), "x", 3);
  const response = await fx.api("GET", "/system");
  assert.equal(response.status, 200);
  const html = await response.text();
  assert.match(html, /openai gpt-4o-mini at http:\/\/10\.0\.0\.7:8000\/v1/);
  assert.match(html, /HTTP 503 &lt;from the server&gt;/, "escaped");
  assert.match(html, /\d{4}-\d\d-\d\dT[\d:.]+Z \(in \d+ s\)/);
  assert.ok(!html.includes("gemini-2.5-flash at"), "a closed breaker is not listed");
  assert.ok(!html.includes("No open circuit breaker"));
});
