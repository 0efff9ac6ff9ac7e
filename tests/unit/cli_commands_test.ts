/**
 * The light command table (cli/commands.ts): each entry loads the command it
 * names, with the same summary, and what `closed-claw` loads when it starts
 * (`--help`, `--version`) reaches no npm package and no command module.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { COMMANDS } from "../../cli/commands.ts";

Deno.test("command table: each entry loads its command, with the same name and summary", async () => {
  const names = COMMANDS.map((c) => c.name);
  assert.equal(new Set(names).size, names.length, "command names are unique");
  for (const entry of COMMANDS) {
    const command = await entry.load();
    assert.equal(command.name, entry.name);
    assert.equal(command.summary, entry.summary, `summary of ${entry.name}`);
    assert.equal(typeof command.run, "function");
  }
});

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier?: string }; isDynamic?: boolean }[];
}

Deno.test("start-up graph: main.ts statically reaches no npm package and no command module", async () => {
  const main = fileURLToPath(new URL("../../main.ts", import.meta.url));
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", main],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const info = JSON.parse(new TextDecoder().decode(stdout)) as {
    roots: string[];
    modules: InfoModule[];
    redirects?: Record<string, string>;
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  // Deno reads every static and literal dynamic import when it starts.
  const reached = new Set<string>();
  const stack = [...info.roots];
  while (stack.length > 0) {
    const raw = stack.pop()!;
    const specifier = info.redirects?.[raw] ?? raw;
    if (reached.has(specifier)) continue;
    reached.add(specifier);
    for (const dependency of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (dependency.code?.specifier) stack.push(dependency.code.specifier);
    }
  }
  assert.ok([...reached].some((s) => s.endsWith("/cli/mod.ts")), "the walk reaches cli/mod.ts");
  const npm = [...reached].filter((s) => s.startsWith("npm:"));
  assert.deepEqual(npm, [], "npm packages reached at start-up");
  const commandModules = [...reached].filter((s) =>
    /\/cli\/(run|runs|agents|doctor|setup|init|tools|trust|web|backup|menu|mcp)\.ts$/.test(s)
  );
  assert.deepEqual(commandModules, [], "command modules reached at start-up");
});
