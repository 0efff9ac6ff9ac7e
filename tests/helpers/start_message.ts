/** A `start` message for tests of the guest's loop and of the host's session. */
import type { StartMessage } from "../../guest/protocol_types.ts";

/**
 * A native-mode start in `/ws` with one `file_io` tool (read and write);
 * `overrides` replace whole fields.
 */
export function startMessage(overrides: Partial<StartMessage> = {}): StartMessage {
  return {
    v: 1,
    type: "start",
    task: "summarise the notes",
    context: {},
    system_prompt: "You are a careful agent.",
    system_tail: "Workspace: /ws (= $WORKSPACE).",
    tools: [{
      name: "file_io",
      description: "Reads and writes files.",
      args_schema: { type: "object", properties: { op: { type: "string" } } },
      risk_level: "medium",
      side_effects: true,
    }],
    tool_context: {
      workspace: "/ws",
      read_roots: ["/ws"],
      write_roots: ["/ws"],
      file_write: true,
      sql_paths: [],
      network_hosts: [],
    },
    limits: {
      max_steps: 6,
      max_tool_calls: 8,
      max_consecutive_errors: 3,
      max_observation_chars: 500,
    },
    step_schema: {},
    tool_mode: "native",
    ...overrides,
  };
}
