/**
 * Run as its own process by the tests: waits for a pending approval in the
 * given registry.db and decides it, as the dashboard would.
 * Usage: deno run -A coordinator_decider.ts <db path> <approve|deny>
 */
import { openStore } from "../../store/mod.ts";
import { decideApproval } from "../../coordinator/approvals.ts";

const [dbPath, verdict] = Deno.args;
const store = openStore(dbPath);
const deadline = Date.now() + 20_000;
try {
  while (Date.now() < deadline) {
    const [pending] = store.approvals.listPending();
    if (pending) {
      decideApproval({ store }, pending.approval_id, verdict === "approve", undefined, "web_user");
      console.log(pending.approval_id);
      Deno.exit(0);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  Deno.exit(1);
} finally {
  store.close();
}
