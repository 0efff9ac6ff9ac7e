/**
 * `deno task install` puts a working `closed-claw` on the PATH: the test runs
 * the task's own command line with a temporary install root, then uses the
 * installed command from an unrelated folder as a user would.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import denoConfig from "../../deno.json" with { type: "json" };
import { tempDir } from "../helpers/temp.ts";

const repo = new URL("../..", import.meta.url).pathname;

async function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(command, {
    args,
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("the installed closed-claw works from any folder and keeps its data there", async () => {
  await using root = await tempDir("claw-install-");
  await using elsewhere = await tempDir("claw-user-");
  const [deno, ...args] = denoConfig.tasks.install.split(" ");
  assert.equal(deno, "deno");
  const installed = await run(Deno.execPath(), [
    ...args.slice(0, 2),
    "--root",
    root.path,
    ...args.slice(2),
  ], repo);
  assert.equal(installed.code, 0, installed.stderr);
  const bin = join(root.path, "bin", "closed-claw");

  const version = await run(bin, ["--version"], elsewhere.path);
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout.trim(), `closed-claw ${denoConfig.version}`);

  const init = await run(bin, ["init"], elsewhere.path, { HOME: elsewhere.path });
  assert.equal(init.code, 0, init.stderr);
  assert.ok((await Deno.stat(join(elsewhere.path, ".closed_claw", "registry.db"))).isFile);

  const custom = join(elsewhere.path, "custom-home");
  const initCustom = await run(bin, ["init"], elsewhere.path, { CLOSED_CLAW_HOME: custom });
  assert.equal(initCustom.code, 0, initCustom.stderr);
  assert.ok((await Deno.stat(join(custom, "registry.db"))).isFile);
});
