import assert from "node:assert/strict";
import { cloneJson } from "../../core/clone.ts";

Deno.test("cloneJson: an equal copy that shares nothing with the original", () => {
  const original = {
    agent_id: "reader",
    embedding_vector: [0.1, -0.2, 0.3],
    permissions: { file_write: false, network_hosts: ["api.example.com"] },
    skills: [{ id: "a", tags: ["x"] }],
    note: null,
    count: 0,
  };
  const copy = cloneJson(original);
  assert.deepEqual(copy, original);
  copy.embedding_vector[0] = 9;
  copy.permissions.network_hosts.push("evil.example.com");
  copy.skills[0].tags.push("y");
  assert.deepEqual(original.embedding_vector, [0.1, -0.2, 0.3]);
  assert.deepEqual(original.permissions.network_hosts, ["api.example.com"]);
  assert.deepEqual(original.skills[0].tags, ["x"]);
});
