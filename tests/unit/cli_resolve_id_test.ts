import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../store/mod.ts";
import { ClosedClawError } from "../../core/errors.ts";
import { recentAgents, resolveAgentId, resolveRunId } from "../../cli/resolve_id.ts";
import { hereCommand, invocationFor } from "../../cli/invocation.ts";
import { tidyNumber } from "../../cli/runs.ts";
import { cancelLine } from "../../cli/run.ts";
import { tempDir } from "../helpers/temp.ts";

function failure(fn: () => unknown): ClosedClawError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ClosedClawError, String(error));
    return error;
  }
  assert.fail("expected an error");
}

Deno.test("run ids resolve from the full id, a unique prefix or `last`; ambiguous and unknown say so", async () => {
  await using dir = await tempDir();
  const store = openStore(join(dir.path, "r.db"));
  try {
    const none = failure(() => resolveRunId(store, "last"));
    assert.match(none.toLine(), /There is no run yet/);
    store.runs.create({ run_id: "abc111", task: "first" });
    await new Promise((r) => setTimeout(r, 5));
    store.runs.create({ run_id: "abc222", task: "second" });
    await new Promise((r) => setTimeout(r, 5));
    store.runs.create({ run_id: "f00d", task: "third" });
    assert.equal(resolveRunId(store, "abc111"), "abc111");
    assert.equal(resolveRunId(store, "abc2"), "abc222");
    assert.equal(resolveRunId(store, "last"), "f00d");
    const ambiguous = failure(() => resolveRunId(store, "abc"));
    assert.equal(ambiguous.exitCode, 2);
    assert.equal(
      ambiguous.toLine(),
      '"abc" matches 2 runs: abc222, abc111. Type more of the id.',
    );
    const unknown = failure(() => resolveRunId(store, "zzz"));
    assert.equal(unknown.code, "run_not_found");
    assert.match(
      unknown.toLine(),
      /No run with an id starting "zzz"\. List them with `closed-claw runs`/,
    );
    // `_` is a literal character of an id, not a LIKE wildcard.
    assert.throws(() => resolveRunId(store, "ab_"), /No run/);
    assert.throws(() => resolveRunId(store, "../x"), /not a valid run id/);
  } finally {
    store.close();
  }
});

Deno.test("agent ids resolve by prefix; `last` is the most recently used or created agent", async () => {
  await using dir = await tempDir();
  const store = openStore(join(dir.path, "r.db"));
  try {
    const agent = (id: string, created: string) =>
      store.agents.upsertManifest({
        agent_id: id,
        name: id,
        description: `agent ${id}`,
        embedding_model: "hash",
        embedding_vector: [],
        tools_allowlist: [],
        tags: [],
        api_capabilities: [],
        requires_approval_for: [],
        skill_ids: [],
        permissions: { read_roots: [], write_roots: [], file_write: false },
        version: "1",
        created_at: created,
        last_used_at: null,
        usage_count: 0,
        success_count: 0,
        failure_count: 0,
        success_rate: 0,
        avg_latency_ms: null,
        status: "active",
        genome_json: "{}",
        lineage_json: "{}",
        fitness_score: 0,
      } as never);
    agent("file-lister-1a2b", "2026-01-01T00:00:00.000Z");
    agent("file-lister-3c4d", "2026-01-02T00:00:00.000Z");
    agent("web-reader-5e6f", "2026-01-03T00:00:00.000Z");
    assert.equal(resolveAgentId(store, "last"), "web-reader-5e6f");
    store.agents.recordUsage("file-lister-1a2b", true, 10);
    assert.equal(resolveAgentId(store, "last"), "file-lister-1a2b");
    assert.equal(resolveAgentId(store, "web"), "web-reader-5e6f");
    assert.match(
      failure(() => resolveAgentId(store, "file-lister")).toLine(),
      /^"file-lister" matches 2 agents: file-lister-1a2b, file-lister-3c4d\./,
    );
    assert.match(failure(() => resolveAgentId(store, "nope")).toLine(), /closed-claw agents/);
    assert.deepEqual(recentAgents(store, 2).map((a) => a.id), [
      "file-lister-1a2b",
      "web-reader-5e6f",
    ]);
  } finally {
    store.close();
  }
});

Deno.test("hints name `deno task cli` inside a clone and `closed-claw` elsewhere", () => {
  assert.equal(invocationFor("/src/claw", "/src/claw"), "deno task cli");
  assert.equal(invocationFor("/src/claw/demo", "/src/claw"), "deno task cli");
  assert.equal(invocationFor("/home/me/project", "/src/claw"), "closed-claw");
  assert.equal(invocationFor("/src/claw-other", "/src/claw"), "closed-claw");
  assert.equal(invocationFor("/src/claw", null), "closed-claw");
  assert.equal(
    hereCommand("Continue it with `closed-claw resume 3f2a`.", "deno task cli"),
    "Continue it with `deno task cli resume 3f2a`.",
  );
  assert.equal(
    hereCommand("the closed-claw dashboard", "deno task cli"),
    "the closed-claw dashboard",
  );
  assert.equal(hereCommand("run `closed-claw setup`", "closed-claw"), "run `closed-claw setup`");
  assert.equal(hereCommand("`closed-claw --help`", "deno task cli"), "`deno task cli --help`");
});

Deno.test("runlog numbers carry no float noise", () => {
  const text = JSON.stringify(
    {
      cost_usd: 0.00016409999999999998,
      ms: 1234.5000000001,
      tokens: 120,
      rate: 1.2000000000000002,
    },
    tidyNumber,
  );
  assert.equal(text, '{"cost_usd":0.000164,"ms":1234.5,"tokens":120,"rate":1.2}');
});

Deno.test("cancel-run says in one line what happened", () => {
  assert.equal(cancelLine("r1", true, "cancelled"), "Cancelled run r1.");
  assert.equal(
    cancelLine("r1", true, "running"),
    "Asked run r1 to stop; its capsules are being stopped.",
  );
  assert.equal(
    cancelLine("r1", false, "ok"),
    "Run r1 finished successfully; there is nothing to cancel.",
  );
});
