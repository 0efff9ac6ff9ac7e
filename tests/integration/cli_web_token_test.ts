/**
 * `closed-claw web --token-file`: the dashboard keeps its access token across
 * restarts (the file is created 0600), run as users run it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decode, spawnCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/temp.ts";

/** Starts `web` with `args`, returns what it printed once it is serving, then stops it. */
async function startOnce(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ out: string; code: number }> {
  const child = spawnCli(["web", "--port", "0", ...args], { cwd, env });
  let out = "";
  const reader = child.stdout.getReader();
  const deadline = Date.now() + 30_000;
  while (!out.includes("Press Ctrl-C") && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    out += decode(value);
  }
  reader.releaseLock();
  const serving = out.includes("Press Ctrl-C");
  if (serving) {
    // The printed URL answers with the token in it.
    const login = /Open this URL once[^:]*: (\S+)/.exec(out)![1];
    const response = await fetch(login, { redirect: "manual" });
    await response.body?.cancel();
    assert.equal(response.status, 303, `the login URL works: ${login}`);
    child.kill("SIGINT");
  }
  const rest = await child.output();
  return { out: out + decode(rest.stdout) + decode(rest.stderr), code: rest.code };
}

function tokenIn(out: string): string {
  return /\?token=([A-Za-z0-9_-]+)/.exec(out)![1];
}

Deno.test("web --token-file keeps one token across restarts; the file is made 0600", async () => {
  await using dir = await tempDir();
  const file = join(dir.path, "dashboard.token");
  const first = await startOnce(dir.path, ["--token-file", file]);
  assert.match(first.out, /The token is kept in .*dashboard\.token \(mode 0600\)/);
  assert.equal(Deno.statSync(file).mode! & 0o777, 0o600);
  assert.equal(Deno.readTextFileSync(file).trim(), tokenIn(first.out));

  const second = await startOnce(dir.path, ["--token-file", file]);
  assert.match(second.out, /The token comes from .*dashboard\.token: the same URL as last time/);
  assert.equal(tokenIn(second.out), tokenIn(first.out));

  // Without the option, each start makes a new token.
  const plain = await startOnce(dir.path, []);
  assert.notEqual(tokenIn(plain.out), tokenIn(first.out));

  // The CLOSED_CLAW_WEB_TOKEN_FILE setting does the same as the option.
  const viaSetting = await startOnce(dir.path, [], { CLOSED_CLAW_WEB_TOKEN_FILE: file });
  assert.equal(tokenIn(viaSetting.out), tokenIn(first.out));

  // A token file others can read is refused with the fix, before serving.
  Deno.chmodSync(file, 0o644);
  const open = await startOnce(dir.path, ["--token-file", file]);
  assert.equal(open.code, 2, open.out);
  assert.match(open.out, /can be read by other users.*\n?.*chmod 600/);
});
