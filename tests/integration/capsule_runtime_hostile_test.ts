/**
 * Hostile capsules: a guest that ignores the host (tests/fixtures/capsule_hostile_guest.ts)
 * runs with the real launch plan under each grant and tries every way out.
 * Every attempt must fail: directly (Deno permissions, bubblewrap) and through
 * the protocol (the host refuses with a `tool_decided` event).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createCapsule } from "../../capsule_runtime/factory.ts";
import { machineFacts } from "../../capsule_runtime/machine.ts";
import type { Permissions, ToolName } from "../../capsule_runtime/manifest.ts";
import { capsuleFixture, HOSTILE_GUEST, scriptedModel } from "../fixtures/capsule_harness.ts";

const bwrapWorks = (await machineFacts()).bwrapPath !== "";

interface Grant {
  name: string;
  tools: ToolName[];
  permissions?: Partial<Permissions>;
}

const GRANTS: Grant[] = [
  { name: "no tools", tools: [] },
  { name: "file_io read", tools: ["file_io"] },
  {
    name: "file_io write",
    tools: ["file_io"],
    permissions: { file_write: true, write_roots: ["."] },
  },
  { name: "http tools", tools: ["http_api", "web_fetch"] },
  { name: "terminal", tools: ["terminal"] },
  { name: "python_exec", tools: ["python_exec"] },
];

async function escapeAttempts(grant: Grant, osSandbox: boolean) {
  const secret = `TOPSECRET-${crypto.randomUUID()}`;
  await using fx = await capsuleFixture({
    tools: grant.tools,
    permissions: grant.permissions,
    skillMd: `# skill\n${secret}\n`,
  });
  const ws = fx.workspace;
  const outside = join(fx.root, "outside");
  Deno.mkdirSync(outside);
  Deno.writeTextFileSync(join(outside, "secret.txt"), secret);
  Deno.writeTextFileSync(join(ws, ".env"), `OPENAI_API_KEY=${secret}\n`);
  Deno.mkdirSync(join(ws, "deep"));
  Deno.writeTextFileSync(join(ws, "deep", ".env"), `TOKEN=${secret}\n`);
  Deno.writeTextFileSync(join(ws, ".env.production"), `TOKEN=${secret}\n`);
  Deno.writeTextFileSync(join(ws, "deep", "server.key"), secret);
  Deno.writeTextFileSync(fx.settings.dbPath, secret);
  Deno.symlinkSync(join(outside, "secret.txt"), join(ws, "link_secret.txt"));
  Deno.symlinkSync(outside, join(ws, "linkdir"));
  Deno.symlinkSync(join(ws, ".env"), join(ws, "link_env"));
  const other = createCapsule(fx.settings.agentsDir, {
    name: "Other",
    description: "",
    tools_allowlist: [],
    skill_md: secret,
  });
  const capsule = join(fx.settings.agentsDir, fx.manifest.agent_id);
  const otherSkill = join(fx.settings.agentsDir, other.agent_id, "skill.md");

  // A host service on loopback that hands out the secret to whoever reaches it.
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(secret),
  );
  const port = server.addr.port;
  const hostKey = `sk-host-${secret}`;
  const previousKey = Deno.env.get("OPENAI_API_KEY");
  Deno.env.set("OPENAI_API_KEY", hostKey);
  try {
    const execGranted = grant.tools.includes("terminal");
    const binaries = execGranted
      ? []
      : grant.tools.includes("python_exec")
      ? ["bash", "/bin/sh"]
      : ["bash", "python3", "/bin/sh"];
    const hostCalls: Record<string, { tool: string; args: Record<string, unknown> }> = {
      "file_io read outside": {
        tool: "file_io",
        args: { op: "read", path: join(outside, "secret.txt") },
      },
      "file_io read symlink": { tool: "file_io", args: { op: "read", path: "link_secret.txt" } },
      "file_io read symlinked dir": {
        tool: "file_io",
        args: { op: "read", path: "linkdir/secret.txt" },
      },
      "file_io read .env": { tool: "file_io", args: { op: "read", path: ".env" } },
      "file_io read deep .env": { tool: "file_io", args: { op: "read", path: "deep/.env" } },
      "file_io write data folder": {
        tool: "file_io",
        args: { op: "write", path: join(fx.settings.homeDir, "planted.txt"), content: "x" },
      },
      "file_io write manifest": {
        tool: "file_io",
        args: { op: "write", path: join(capsule, "manifest.json"), content: "{}" },
      },
      "file_io write skill": {
        tool: "file_io",
        args: { op: "write", path: join(capsule, "skill.md"), content: "x" },
      },
      "file_io read registry": { tool: "file_io", args: { op: "read", path: fx.settings.dbPath } },
      "http_api loopback": { tool: "http_api", args: { url: `http://127.0.0.1:${port}/` } },
      "web_fetch metadata": { tool: "web_fetch", args: { url: "http://169.254.169.254/latest/" } },
      "sql_query not granted": { tool: "sql_query", args: { db_path: "x.db", query: "SELECT 1" } },
    };
    if (!grant.tools.includes("terminal")) {
      hostCalls["terminal not granted"] = { tool: "terminal", args: { cmd: "cat /etc/hostname" } };
    }
    const result = await fx.run({
      task: "escape",
      guestEntry: HOSTILE_GUEST,
      osSandbox,
      timeoutMs: 60_000,
      context: {
        secret_text: secret,
        outside_file: join(outside, "secret.txt"),
        port: String(port),
        read_targets: {
          "outside file": join(outside, "secret.txt"),
          "symlink to outside file": join(ws, "link_secret.txt"),
          "file in symlinked dir": join(ws, "linkdir", "secret.txt"),
          "symlink to .env": join(ws, "link_env"),
          ".env": join(ws, ".env"),
          "deep .env": join(ws, "deep", ".env"),
          ".env.production": join(ws, ".env.production"),
          "deep key file": join(ws, "deep", "server.key"),
          "registry.db": fx.settings.dbPath,
          "other capsule": otherSkill,
          "own skill.md": join(capsule, "skill.md"),
        },
        write_targets: {
          "own manifest.json": join(capsule, "manifest.json"),
          "own skill.md": join(capsule, "skill.md"),
          "other capsule": otherSkill,
          ".env": join(ws, ".env"),
          "registry.db": fx.settings.dbPath,
          "outside folder": join(outside, "new.txt"),
          "data folder": join(fx.settings.homeDir, "planted.txt"),
          "deno cache": join(fx.settings.homeDir, "deno_cache", "planted.js"),
          "deep .env": join(ws, "deep", ".env"),
        },
        urls: [
          `http://127.0.0.1:${port}/`,
          `http://localhost:${port}/`,
          "http://169.254.169.254/latest/meta-data/",
          "http://not-granted.example/",
        ],
        binaries,
        host_calls: hostCalls,
      },
      hooks: scriptedModel([]),
    });
    assert.equal(result.status, "ok", `${result.error_code}: ${result.error_message}`);
    assert.equal(result.sandbox, osSandbox ? "bwrap" : "deno-only");
    const outcomes = JSON.parse(result.result) as Record<string, string>;
    const escaped = Object.entries(outcomes).filter(([, o]) => o.startsWith("ESCAPED"));
    assert.deepEqual(escaped, [], `${grant.name}: ${JSON.stringify(escaped, null, 1)}`);
    // Enough attempts ran (the guest did not bail out early).
    assert.ok(Object.keys(outcomes).length >= 25 + Object.keys(hostCalls).length - 10);
    for (const name of Object.keys(hostCalls)) {
      assert.match(outcomes[`host ${name}`], /^blocked/, name);
    }
    const decided = fx.events.filter((e) => e.type === "tool_decided");
    assert.equal(decided.length, Object.keys(hostCalls).length);
    assert.ok(decided.every((e) => e.type === "tool_decided" && !e.allowed));
    // The files it tried to overwrite are untouched.
    assert.equal(Deno.readTextFileSync(join(ws, ".env")), `OPENAI_API_KEY=${secret}\n`);
    assert.match(Deno.readTextFileSync(join(capsule, "manifest.json")), /"agent_id"/);
    assert.equal(Deno.readTextFileSync(otherSkill), secret);
    assert.throws(() => Deno.statSync(join(outside, "new.txt")));
    assert.throws(() => Deno.statSync(join(fx.settings.homeDir, "planted.txt")));
    assert.throws(() => Deno.statSync(join(fx.settings.homeDir, "deno_cache", "planted.js")));
    assert.equal(Deno.readTextFileSync(join(ws, "deep", ".env")), `TOKEN=${secret}\n`);
    // Nothing the capsule printed carries the secret or the host's key.
    const everything = JSON.stringify(fx.events) + result.stderr_tail;
    assert.ok(!everything.includes(hostKey), "host env leaked");
  } finally {
    if (previousKey === undefined) Deno.env.delete("OPENAI_API_KEY");
    else Deno.env.set("OPENAI_API_KEY", previousKey);
    await server.shutdown();
  }
}

for (const grant of GRANTS) {
  Deno.test(`hostile capsule (${grant.name}, Deno permissions only) cannot escape`, async () => {
    await escapeAttempts(grant, false);
  });
  Deno.test({
    name: `hostile capsule (${grant.name}, bubblewrap) cannot escape`,
    ignore: !bwrapWorks,
    fn: () => escapeAttempts(grant, true),
  });
}
