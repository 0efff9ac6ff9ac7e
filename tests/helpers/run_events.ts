/** What a CLI run logged, read back by tests. */
import { join } from "node:path";

/**
 * The payloads of the `name` events in the run log of `runId` under
 * `workspace` (`.closed_claw/runs/<runId>.jsonl`); throws on a line that is not JSON.
 */
export function events(workspace: string, runId: string, name: string): Record<string, unknown>[] {
  const text = Deno.readTextFileSync(join(workspace, ".closed_claw", "runs", `${runId}.jsonl`));
  return text.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.event === name)
    .map((e) => e.payload);
}
