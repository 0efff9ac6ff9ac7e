import assert from "node:assert/strict";
import { checkToolCall } from "../../tools/host_check.ts";
import { paidProviderFor } from "../../guest/policy/paid_api.ts";

const ctx = {
  workspace: "/ws",
  readRoots: ["/ws"],
  writeRoots: [],
  fileWrite: false,
  sqlPaths: [],
  networkHosts: [],
};
const resolver = () => Promise.resolve([{ address: "93.184.215.14", family: 4 as const }]);

Deno.test("paid providers match the host and its sub-domains only", () => {
  const providers = ["stripe.com", "*.openai.com", " "];
  assert.equal(paidProviderFor("stripe.com", providers), "stripe.com");
  assert.equal(paidProviderFor("API.Stripe.com.", providers), "stripe.com");
  assert.equal(paidProviderFor("api.openai.com", providers), "openai.com");
  assert.equal(paidProviderFor("notstripe.com", providers), null);
  assert.equal(paidProviderFor("stripe.com.evil.test", providers), null);
  assert.equal(paidProviderFor("example.com", []), null);
});

Deno.test("host check marks http_api and web_fetch calls to paid hosts for approval", async () => {
  const options = {
    allowlist: ["http_api", "web_fetch"],
    ctx,
    resolver,
    paidApiProviders: ["stripe.com"],
  };
  const post = await checkToolCall("http_api", {
    method: "post",
    url: "https://api.stripe.com/v1/charges?secret=x",
  }, options);
  assert.ok(post.allowed);
  assert.deepEqual(post.needsApproval, {
    provider: "stripe.com",
    endpoint: "POST https://api.stripe.com/v1/charges",
    reason: "http_api call to the paid API host api.stripe.com (stripe.com)",
  });
  const fetch = await checkToolCall("web_fetch", { url: "https://stripe.com/pricing" }, options);
  assert.ok(fetch.allowed);
  assert.equal(fetch.needsApproval?.endpoint, "GET https://stripe.com/pricing");
  const free = await checkToolCall("web_fetch", { url: "https://example.com/" }, options);
  assert.ok(free.allowed);
  assert.equal(free.needsApproval, undefined);
  // A refused URL is refused outright, never sent for approval.
  const local = await checkToolCall("http_api", { url: "http://127.0.0.1/" }, options);
  assert.equal(local.allowed, false);
});
