import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../store/mod.ts";
import { tempDir } from "../helpers/temp.ts";

Deno.test("an approval is decided once: the first decider wins", async () => {
  await using dir = await tempDir();
  const a = openStore(join(dir.path, "r.db"));
  const b = openStore(join(dir.path, "r.db")); // a second connection, like the dashboard
  const req = a.approvals.create({
    runId: "run1",
    kind: "api_call",
    request: { provider: "api.example.com" },
    timeoutSec: 30,
  });
  assert.deepEqual(b.approvals.listPending().map((p) => p.approval_id), [req.approval_id]);
  assert.equal(
    b.approvals.decide(req.approval_id, "approved", "web_user", "approved_via_web"),
    true,
  );
  assert.equal(a.approvals.decide(req.approval_id, "timed_out", "web_timeout", "late"), false);
  assert.equal(a.approvals.get(req.approval_id)!.status, "approved");
  assert.equal(a.approvals.countPending(), 0);
  a.close();
  b.close();
});
