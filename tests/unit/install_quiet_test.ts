/**
 * The first run is quiet: every npm package in deno.lock that declares a
 * build script is denied in deno.json's `allowScripts` (none is needed: the
 * native parts ship prebuilt), so Deno prints no "Ignored build scripts"
 * warning when it installs the dependencies.
 */
import assert from "node:assert/strict";

const config = JSON.parse(
  await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
) as { allowScripts?: { allow?: string[]; deny?: string[] } | string[] };
const lock = JSON.parse(
  await Deno.readTextFile(new URL("../../deno.lock", import.meta.url)),
) as { npm?: Record<string, { scripts?: boolean }> };

Deno.test("every locked npm package with a build script is decided in deno.json's allowScripts", () => {
  const withScripts = Object.entries(lock.npm ?? {})
    .filter(([, info]) => info.scripts === true)
    .map(([id]) => `npm:${id.replace(/^(@?[^@]+)@.*$/, "$1")}`);
  assert.ok(withScripts.length > 0, "deno.lock lists packages with build scripts");
  const scripts = config.allowScripts;
  assert.ok(scripts && !Array.isArray(scripts), "deno.json has allowScripts { deny: [...] }");
  const decided = new Set([...(scripts.allow ?? []), ...(scripts.deny ?? [])]);
  for (const name of withScripts) {
    assert.ok(decided.has(name), `${name} has a build script: deny (or allow) it in deno.json`);
  }
});
