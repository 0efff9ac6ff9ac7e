/**
 * Capsule hardening (issue 4 follow-ups), each proven against the real launch:
 * Deno itself enforces `network_hosts`, a deleted data dir does not break the
 * next launch, an incomplete symlink scan is never silent, and programs run
 * by `terminal` inside bubblewrap have no network at all.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createCapsule } from "../../capsule_runtime/factory.ts";
import { type CapsuleEvent, planLaunch } from "../../capsule_runtime/host.ts";
import { machineFacts } from "../../capsule_runtime/machine.ts";
import type { Resolver } from "../../guest/policy/ssrf.ts";
import {
  capsuleFixture,
  finalStep,
  HOSTILE_GUEST,
  scriptedModel,
  toolStep,
} from "../fixtures/capsule_harness.ts";

const bwrapWorks = (await machineFacts()).bwrapPath !== "";

/** Public-looking answers only; no test touches a real resolver or the internet. */
const fakeResolver: Resolver = (host) => {
  const table: Record<string, string[]> = {
    "api.example.com": ["93.184.215.16", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "rebind.example.com": ["93.184.215.17", "10.0.0.5"],
  };
  const found = table[host];
  return found
    ? Promise.resolve(found.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })))
    : Promise.reject(
      Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" }),
    );
};

const allowNet = (flags: string[]) =>
  flags.find((f) => f === "--allow-net" || f.startsWith("--allow-net="));

const logWarnings = (events: CapsuleEvent[]) =>
  events.flatMap((e) => e.type === "log" && e.level === "warn" ? [e.msg] : []);

Deno.test("planLaunch resolves network_hosts once and allows only their public addresses", async () => {
  await using fx = await capsuleFixture({
    tools: ["http_api"],
    permissions: { network_hosts: ["api.example.com", "rebind.example.com", "gone.example.com"] },
  });
  const plan = await planLaunch(fx.settings, fx.manifest, { resolver: fakeResolver });
  assert.equal(
    allowNet(plan.denoFlags),
    "--allow-net=api.example.com,rebind.example.com,gone.example.com,93.184.215.16,[2606:2800:21f:cb07:6820:80da:af6b:8b2c]",
  );
  assert.ok(plan.denoFlags.some((f) => f.startsWith("--deny-net=")), "private ranges stay denied");
  // A host with a private address is refused as the tools refuse it; its public address is not let in.
  assert.ok(!allowNet(plan.denoFlags)!.includes("93.184.215.17"));
  assert.match(
    plan.warnings.join("\n"),
    /'rebind\.example\.com' could not be resolved.*10\.0\.0\.5/,
  );
  assert.match(plan.warnings.join("\n"), /'gone\.example\.com' could not be resolved/);
  // Without network_hosts, nothing is resolved and any public host is allowed.
  const open = createCapsule(fx.settings.agentsDir, {
    name: "Open",
    description: "",
    tools_allowlist: ["http_api"],
  });
  const openPlan = await planLaunch(fx.settings, open, {
    resolver: () => Promise.reject(new Error("must not resolve")),
  });
  assert.equal(allowNet(openPlan.denoFlags), "--allow-net");
  assert.deepEqual(openPlan.warnings, []);
});

async function probeNetwork(networkHosts: string[], osSandbox: boolean) {
  await using fx = await capsuleFixture({
    tools: ["http_api"],
    permissions: { network_hosts: networkHosts },
  });
  const result = await fx.run({
    task: "net_probe",
    guestEntry: HOSTILE_GUEST,
    osSandbox,
    resolver: fakeResolver,
    timeoutMs: 30_000,
    context: {
      query: ["93.184.215.16:443", "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443", "192.0.2.1:80"],
      connect: networkHosts.length ? ["192.0.2.1:80", "198.51.100.7:443"] : [],
    },
    hooks: scriptedModel([]),
  });
  assert.equal(result.status, "ok", `${result.error_code}: ${result.error_message}`);
  return { report: JSON.parse(result.result) as Record<string, string>, events: fx.events };
}

for (const osSandbox of [false, true]) {
  const label = osSandbox ? "bubblewrap" : "Deno permissions only";
  Deno.test({
    name:
      `a guest that ignores the host cannot reach a public address outside network_hosts (${label})`,
    ignore: osSandbox && !bwrapWorks,
    fn: async () => {
      const { report } = await probeNetwork(["api.example.com"], osSandbox);
      assert.equal(report["query 93.184.215.16:443"], "granted");
      assert.equal(report["query [2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443"], "granted");
      assert.notEqual(report["query 192.0.2.1:80"], "granted");
      // Refused by Deno before any packet leaves (no timeout, no network error).
      for (const target of ["192.0.2.1:80", "198.51.100.7:443"]) {
        assert.equal(report[`connect ${target}`], "NotCapable", target);
        assert.equal(report[`fetch ${target}`], "NotCapable", target);
      }
      // The control: with no network_hosts, Deno alone would have let the same address through.
      const open = await probeNetwork([], osSandbox);
      assert.equal(open.report["query 192.0.2.1:80"], "granted");
    },
  });
}

Deno.test("a weaker network guarantee is reported as a warning event and in the result", async () => {
  await using fx = await capsuleFixture({
    tools: ["web_fetch"],
    permissions: { network_hosts: ["*.example.com"] },
  });
  const result = await fx.run({
    task: "Say hi.",
    osSandbox: false,
    resolver: fakeResolver,
    timeoutMs: 30_000,
    hooks: scriptedModel([finalStep("hi")]),
  });
  assert.equal(result.status, "ok");
  assert.match(result.warnings.join("\n"), /\*\.example\.com.*not Deno/);
  assert.deepEqual(logWarnings(fx.events), result.warnings);
  const started = fx.events.find((e) => e.type === "started");
  assert.ok(started?.type === "started" && started.deno_flags.includes("--allow-net"));
});

Deno.test("an incomplete symlink scan refuses file tools without bubblewrap and warns inside it", async () => {
  await using fx = await capsuleFixture({
    tools: ["file_io", "sql_query"],
    permissions: { sql_paths: ["db.sqlite"] },
  });
  for (let i = 0; i < 10; i++) Deno.mkdirSync(join(fx.workspace, `dir${i}`));
  const denoOnly = await planLaunch(fx.settings, fx.manifest, {
    osSandbox: false,
    symlinkScanLimit: 5,
  });
  assert.deepEqual(denoOnly.tools, []);
  assert.deepEqual(denoOnly.refusedTools.map((r) => r.tool), ["file_io", "sql_query"]);
  assert.match(denoOnly.refusedTools[0].reason, /more than 5 entries.*symlink/);
  const read = denoOnly.denoFlags.find((f) => f.startsWith("--allow-read=")) ?? "--allow-read=";
  assert.ok(!read.split("=")[1].split(",").includes(fx.workspace), "the workspace is not readable");
  // A complete scan changes nothing.
  const complete = await planLaunch(fx.settings, fx.manifest, { osSandbox: false });
  assert.deepEqual(complete.tools, ["file_io", "sql_query"]);
  assert.deepEqual(complete.warnings, []);
  if (bwrapWorks) {
    const sandboxed = await planLaunch(fx.settings, fx.manifest, { symlinkScanLimit: 5 });
    assert.deepEqual(sandboxed.tools, ["file_io", "sql_query"]);
    assert.match(sandboxed.warnings.join("\n"), /symlink scan stopped after 5 entries/);
  }
});

Deno.test({
  name: "a capsule launches again after its data dir was deleted in the same process",
  ignore: !bwrapWorks, // bubblewrap cannot bind a cache folder that is gone
  fn: async () => {
    await using fx = await capsuleFixture({ tools: [] });
    const run = () =>
      fx.run({
        task: "Say hi.",
        timeoutMs: 30_000,
        hooks: scriptedModel([finalStep("hi")]),
      });
    const first = await run();
    assert.equal(first.status, "ok", `${first.error_code}: ${first.error_message}`);
    assert.equal(first.sandbox, "bwrap");
    Deno.removeSync(fx.settings.homeDir, { recursive: true });
    fx.manifest = createCapsule(fx.settings.agentsDir, {
      name: "Again",
      description: "",
      tools_allowlist: [],
    });
    const second = await run();
    assert.equal(second.status, "ok", `${second.error_code}: ${second.error_message}`);
  },
});

Deno.test({
  name: "programs started by terminal inside bubblewrap cannot open a TCP connection to the host",
  ignore: !bwrapWorks,
  fn: async () => {
    await using fx = await capsuleFixture({ tools: ["terminal"] });
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    let accepted = 0;
    const serving = (async () => {
      for await (const conn of listener) {
        accepted++;
        conn.close();
      }
    })();
    const cmd = [
      "echo bash-ran",
      `(echo hi > /dev/tcp/127.0.0.1/${port}) 2>/dev/null && echo BASH-CONNECTED`,
      `python3 -c 'import socket; socket.create_connection(("127.0.0.1", ${port}), 2); print("PY-CONNECTED")' 2>/dev/null`,
      `curl -s -m 2 -o /dev/null http://127.0.0.1:${port}/; echo curl-exit-$?`,
    ].join("; ");
    try {
      const result = await fx.run({
        task: "Connect to the host.",
        timeoutMs: 30_000,
        hooks: scriptedModel([toolStep("terminal", { cmd }), finalStep("tried")]),
      });
      assert.equal(result.status, "ok", `${result.error_code}: ${result.error_message}`);
      assert.equal(result.sandbox, "bwrap");
      const done = fx.events.find((e) => e.type === "tool_done");
      assert.ok(done?.type === "tool_done" && done.ok, JSON.stringify(done));
      const stdout = String(done.result.stdout);
      assert.match(stdout, /bash-ran/, "bash really ran inside the capsule");
      assert.doesNotMatch(stdout, /CONNECTED/);
      assert.equal(accepted, 0, "the listener saw no connection from the sandbox");

      // The control: the same command line outside the sandbox does connect.
      const outside = await new Deno.Command("bash", { args: ["-c", cmd], stdin: "null" }).output();
      assert.match(new TextDecoder().decode(outside.stdout), /BASH-CONNECTED/);
      assert.ok(accepted >= 1);
    } finally {
      listener.close();
      await serving.catch(() => {});
    }
  },
});

Deno.test("a manifest root that is a symlink out of the workspace is granted to nobody", async () => {
  await using fx = await capsuleFixture({
    tools: ["file_io"],
    permissions: { read_roots: ["link", "docs"], write_roots: ["link"], file_write: true },
  });
  const outside = join(fx.root, "home");
  Deno.mkdirSync(outside);
  Deno.writeTextFileSync(join(outside, "secret.txt"), "s3cret");
  Deno.mkdirSync(join(fx.workspace, "docs"));
  Deno.symlinkSync(outside, join(fx.workspace, "link"));
  const plan = await planLaunch(fx.settings, fx.manifest, { osSandbox: false });
  assert.deepEqual(plan.permissions.readRoots, [join(fx.workspace, "docs")]);
  assert.deepEqual(plan.permissions.writeRoots, []);
  const flags = plan.denoFlags.join(" ");
  assert.ok(!flags.includes(join(fx.workspace, "link")), flags);
  assert.ok(!flags.includes(outside), flags);
});
