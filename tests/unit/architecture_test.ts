/**
 * The layout's rules, checked on the sources: folders import only the floors
 * below them, and SQL lives in store/. (The guest wing's own rule is in
 * guest_imports_test.ts.)
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { specifiers } from "../helpers/imports.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
const PRODUCTION = [
  "api",
  "capsule_runtime",
  "cli",
  "coordinator",
  "core",
  "guest",
  "llm",
  "mcp_server",
  "store",
  "tools",
  "web",
];

/** Which top-level folders each folder may import from (besides itself, node: and npm:). */
const MAY_IMPORT: Record<string, string[]> = {
  core: [],
  guest: [],
  store: ["core"],
  tools: ["core", "guest"],
  llm: ["core", "store"],
  capsule_runtime: ["core", "guest", "store", "tools"],
};

async function* files(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* files(path);
    else if (/\.tsx?$/.test(entry.name)) yield path;
  }
}

/** The top-level folder each relative import of `file` lands in. */
function importedFolders(file: string, source: string): string[] {
  return specifiers(source)
    .filter((spec) => spec.startsWith("."))
    .map((spec) => relative(ROOT, resolve(dirname(file), spec)).split("/")[0]);
}

Deno.test("each folder imports only the floors below it; web never imports cli", async () => {
  const problems: string[] = [];
  for (const folder of PRODUCTION) {
    for await (const file of files(join(ROOT, folder))) {
      const targets = importedFolders(file, await Deno.readTextFile(file));
      for (const target of targets) {
        const allowed = MAY_IMPORT[folder];
        const bad = (allowed && target !== folder && !allowed.includes(target)) ||
          (folder === "web" && target === "cli");
        if (bad) problems.push(`${relative(ROOT, file)} imports ${target}/`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("SQL is prepared only in store/ (and by the sql_query tool on the user's database)", async () => {
  const found: string[] = [];
  for (const folder of PRODUCTION.filter((f) => f !== "store")) {
    for await (const file of files(join(ROOT, folder))) {
      if (file.endsWith("guest/tools/_sql_worker_source.ts")) continue;
      if ((await Deno.readTextFile(file)).includes("prepare(")) found.push(relative(ROOT, file));
    }
  }
  assert.deepEqual(found, []);
});
