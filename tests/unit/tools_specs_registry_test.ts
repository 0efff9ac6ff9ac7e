/**
 * Every table that names the tools is derived from one registry; this test
 * proves they agree (guest definitions, host specs, the name list, the
 * catalogue shown to models, the launcher's classes, the guest dispatch) and
 * that the comparison itself notices a tool missing from any one table.
 */
import assert from "node:assert/strict";
import {
  buildLaunchPlan,
  EXEC_TOOLS,
  type LaunchInput,
  NETWORK_TOOLS,
  PATH_TOOLS,
  type ResolvedPermissions,
} from "../../capsule_runtime/launcher.ts";
import { parseManifest, TOOL_NAMES, type ToolName } from "../../capsule_runtime/manifest.ts";
import { TOOL_ALIASES } from "../../guest/policy/aliases.ts";
import { MAX_TIMEOUT_S } from "../../guest/policy/coerce.ts";
import { GUEST_TOOLS } from "../../guest/tools/registry.ts";
import { runTool } from "../../guest/tools/run.ts";
import type { GuestToolDef } from "../../guest/tools/tool_def.ts";
import { TOOL_CATALOG, toolRegistryForAllowlist, type ToolSpec } from "../../tools/catalog.ts";
import { checkToolCall } from "../../tools/host_check.ts";
import { HOST_TOOL_SPECS } from "../../tools/specs/registry.ts";
import type { HostToolSpec } from "../../tools/specs/types.ts";
import { toolContext } from "../helpers/tool_context.ts";

/** The tables that must list the same tools. */
interface ToolTables {
  guest: readonly GuestToolDef[];
  host: readonly HostToolSpec[];
  names: readonly string[];
  catalog: readonly ToolSpec[];
  classes: { network: readonly string[]; exec: readonly string[]; path: readonly string[] };
  aliases: Readonly<Record<string, Readonly<Record<string, string>>>>;
  maxTimeouts: Readonly<Record<string, number>>;
}

const REAL: ToolTables = {
  guest: GUEST_TOOLS,
  host: HOST_TOOL_SPECS,
  names: TOOL_NAMES,
  catalog: TOOL_CATALOG,
  classes: { network: NETWORK_TOOLS, exec: EXEC_TOOLS, path: PATH_TOOLS },
  aliases: TOOL_ALIASES,
  maxTimeouts: MAX_TIMEOUT_S,
};

type SchemaProperty = { maximum?: number };
const properties = (tool: ToolSpec) =>
  (tool.jsonSchema as { properties?: Record<string, SchemaProperty> }).properties ?? {};

/** One line per disagreement between the tables; empty when they agree. */
function disagreements(t: ToolTables): string[] {
  const problems: string[] = [];
  const expected = t.guest.map((def) => def.name);
  const same = (label: string, names: readonly string[], want = expected) => {
    if (names.join(",") !== want.join(",")) {
      problems.push(`${label}: [${names}] but the guest registry has [${want}]`);
    }
  };
  if (new Set(expected).size !== expected.length) problems.push(`duplicate names: [${expected}]`);
  same("host specs", t.host.map((spec) => spec.name));
  same("name list", t.names);
  same("catalogue", t.catalog.map((tool) => tool.name));
  same("alias table", Object.keys(t.aliases));
  same("timeout table", Object.keys(t.maxTimeouts));
  for (const cls of ["network", "exec", "path"] as const) {
    const want = t.guest.filter((def) => def.permission === cls).map((def) => def.name);
    same(`${cls} tools`, t.classes[cls], want);
  }
  for (const def of t.guest) {
    const spec = t.host.find((s) => s.name === def.name);
    const tool = t.catalog.find((c) => c.name === def.name);
    if (spec && spec.guest !== def) {
      problems.push(`${def.name}: host spec wraps another definition`);
    }
    if (!tool) continue;
    if (JSON.stringify(tool.aliases) !== JSON.stringify(def.aliases)) {
      problems.push(`${def.name}: catalogue aliases differ from the definition's`);
    }
    if (tool.sideEffects !== (def.sideEffects !== "never")) {
      problems.push(`${def.name}: catalogue side_effects disagrees with '${def.sideEffects}'`);
    }
    if ((def.sideEffects === "depends") !== (def.hasSideEffects !== undefined)) {
      problems.push(`${def.name}: 'depends' needs hasSideEffects, and only it`);
    }
    const props = properties(tool);
    for (const [alias, canonical] of Object.entries(def.aliases)) {
      if (!(canonical in props)) {
        problems.push(`${def.name}: alias '${alias}' → unknown '${canonical}'`);
      }
      if (alias in props) problems.push(`${def.name}: alias '${alias}' shadows an argument`);
    }
    const timeoutMax = props.timeout_s?.maximum ?? 0;
    if (timeoutMax !== def.maxTimeoutS || t.maxTimeouts[def.name] !== def.maxTimeoutS) {
      problems.push(`${def.name}: timeout_s max ${timeoutMax} vs definition ${def.maxTimeoutS}`);
    }
  }
  return problems;
}

Deno.test("the tool tables all agree with the registry", () => {
  assert.deepEqual(disagreements(REAL), []);
  assert.ok(GUEST_TOOLS.length > 0);
  assert.deepEqual(toolRegistryForAllowlist(TOOL_NAMES).map((t) => t.name), [...TOOL_NAMES]);
});

Deno.test("the comparison notices a tool missing from any one table", () => {
  const without = <T>(list: readonly T[], drop: (item: T) => boolean) =>
    list.filter((x) => !drop(x));
  const omit = <V>(table: Readonly<Record<string, V>>, name: string) =>
    Object.fromEntries(Object.entries(table).filter(([key]) => key !== name));
  for (const name of TOOL_NAMES) {
    const mutants: [string, ToolTables][] = [
      ["guest", { ...REAL, guest: without(REAL.guest, (d) => d.name === name) }],
      ["host", { ...REAL, host: without(REAL.host, (s) => s.name === name) }],
      ["names", { ...REAL, names: without(REAL.names, (n) => n === name) }],
      ["catalogue", { ...REAL, catalog: without(REAL.catalog, (c) => c.name === name) }],
      ["aliases", { ...REAL, aliases: omit(REAL.aliases, name) }],
      ["timeouts", { ...REAL, maxTimeouts: omit(REAL.maxTimeouts, name) }],
      ["classes", {
        ...REAL,
        classes: {
          network: without(REAL.classes.network, (n) => n === name),
          exec: without(REAL.classes.exec, (n) => n === name),
          path: without(REAL.classes.path, (n) => n === name),
        },
      }],
    ];
    for (const [table, tables] of mutants) {
      assert.ok(disagreements(tables).length > 0, `${name} missing from ${table} went unnoticed`);
    }
  }
  const renamedAlias = REAL.catalog.map((tool) =>
    tool.name === "web_fetch" ? { ...tool, aliases: { href: "url" } } : tool
  );
  assert.ok(disagreements({ ...REAL, catalog: renamedAlias }).length > 0);
});

Deno.test("the guest dispatches and the host checks every registered tool", async () => {
  const ctx = toolContext(Deno.cwd());
  for (const name of TOOL_NAMES) {
    // Empty args fail inside the tool's own runner, before it does anything.
    const ran = await runTool(name, {}, ctx);
    assert.equal(ran.ok, false);
    assert.ok(!ran.error.startsWith("unknown tool"), `${name}: ${ran.error}`);
    const checked = await checkToolCall(name, {}, { allowlist: TOOL_NAMES, ctx, skipDns: true });
    assert.equal(checked.allowed, false);
    if (!checked.allowed) assert.ok(checked.reason.startsWith(`${name}: `), checked.reason);
  }
  const unknown = await runTool("seventh", {}, ctx);
  assert.ok(unknown.error.includes(TOOL_NAMES.join(", ")), unknown.error);
});

function launchInput(tool: ToolName, extra: Partial<LaunchInput> = {}): LaunchInput {
  const permissions: ResolvedPermissions = {
    readRoots: ["/ws/in"],
    writeRoots: ["/ws/out"],
    fileWrite: true,
    networkHosts: [],
    sqlPaths: ["/ws/db.sqlite"],
  };
  return {
    manifest: parseManifest({
      agent_id: "worker-1a2b",
      name: "Worker",
      created_at: "2026-01-01T00:00:00Z",
      tools_allowlist: [tool],
    }),
    permissions,
    capsuleDir: "/data/agents/worker-1a2b",
    homeDir: "/data",
    agentsDir: "/data/agents",
    secretPaths: [],
    workspace: "/ws",
    denoPath: "/usr/bin/deno",
    guestEntry: "/src/guest/main.ts",
    guestSources: ["/src/guest"],
    denoDir: "/data/deno_cache",
    bwrapPath: "/usr/bin/bwrap",
    systemPaths: [],
    etcPaths: [],
    allowUnsandboxedExec: false,
    ...extra,
  };
}

Deno.test("each permission class launches as its class says", () => {
  for (const spec of HOST_TOOL_SPECS) {
    const plan = buildLaunchPlan(launchInput(spec.name));
    const cls = spec.guest.permission;
    assert.deepEqual(plan.tools, [spec.name], spec.name);
    assert.equal(plan.denoFlags.some((f) => f.startsWith("--allow-net")), cls === "network");
    assert.equal(plan.args.includes("--share-net"), cls === "network", spec.name);
    // Programs of exec tools are started by the host in their own sandbox, never by the capsule.
    assert.equal(plan.denoFlags.some((f) => f.startsWith("--allow-run")), false, spec.name);
    const needs = spec.launch(plan.permissions, "/ws");
    const read = plan.denoFlags.find((f) => f.startsWith("--allow-read="))?.split("=")[1] ?? "";
    for (const path of needs.denoRead ?? []) assert.ok(read.split(",").includes(path), path);
    for (const path of needs.roBinds ?? []) {
      assert.ok(plan.args.join(" ").includes(`--ro-bind-try ${path} ${path}`), path);
    }
    // Without bubblewrap: exec tools are refused; with an incomplete scan, path tools too.
    const bare = buildLaunchPlan(launchInput(spec.name, { bwrapPath: "" }));
    assert.equal(bare.tools.length === 0, cls === "exec", spec.name);
    const scan = { bwrapPath: "", allowUnsandboxedExec: true, incompleteSymlinkScan: { limit: 1 } };
    const unscanned = buildLaunchPlan(launchInput(spec.name, scan));
    assert.equal(unscanned.tools.length === 0, cls === "path", spec.name);
  }
});

Deno.test("exec and network tools share a capsule only where the egress proxy holds programs", () => {
  for (const exec of EXEC_TOOLS) {
    for (const net of NETWORK_TOOLS) {
      const both = (extra: Partial<LaunchInput>) => {
        const base = launchInput(exec, extra);
        const manifest = { ...base.manifest, tools_allowlist: [exec, net] };
        return buildLaunchPlan({ ...base, manifest });
      };
      assert.deepEqual(both({ egressProxy: true }).tools, [exec, net], `${exec}+${net}`);
      assert.deepEqual(both({}).tools, [net], `${exec}+${net} without the proxy`);
      const bare = both({ bwrapPath: "", egressProxy: true });
      assert.deepEqual(bare.tools, [net], `${exec}+${net} without bubblewrap`);
    }
  }
});
