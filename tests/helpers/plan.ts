/** Test helpers: planner output to build subtask pools from. */
import type { Plan } from "../../coordinator/planner.ts";

/** One planned subtask, as the planner model returns it (reads files, needs a tool). */
export function planSubtask(
  task_id: string,
  depends_on: string[] = [],
): Plan["subtasks"][number] {
  return {
    task_id,
    title: `Title ${task_id}`,
    description: "d",
    role_tag: "File Reader",
    depends_on,
    acceptance_criteria: [" c1 ", ""],
    requires_tool: true,
    tools: ["file_io", "terminal"],
    writes_files: false,
    network_hosts: [],
  };
}
