/**
 * The capsule guest as one JavaScript file. `deno task build:guest` bundles
 * guest/main.ts and everything it imports into guest/dist/guest.js (checked
 * in), which every capsule runs: Deno then loads one file, with no module
 * graph to resolve and no TypeScript to strip, and the V8 code cache
 * (machine.ts `warmGuestCache`) covers all of it.
 *
 * The bundle's header records a hash of every file under guest/. When the
 * sources no longer match it (someone edited guest/ and has not rebuilt yet),
 * capsules run guest/main.ts as before (machine.ts), and
 * tests/unit/guest_bundle_test.ts fails until the bundle is rebuilt.
 */
import { createHash } from "node:crypto";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The flags every guest runs with besides its permissions (machine.ts warms the
 * code cache with the same ones: V8 refuses a cache made under other flags).
 */
export const GUEST_BASE_FLAGS = [
  "--no-prompt",
  "--cached-only",
  "--no-config",
  "--no-lock",
  "--no-npm",
  "--no-remote",
] as const;

/** The product's root folder (the one holding guest/). */
export const PRODUCT_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
/** The guest's sources. */
export const GUEST_DIR = join(PRODUCT_ROOT, "guest");
/** The guest's TypeScript entry point. */
export const GUEST_MAIN = join(GUEST_DIR, "main.ts");
/** The built guest, bundled from GUEST_DIR (its dist/ folder is not a source). */
export const GUEST_BUNDLE = join(GUEST_DIR, "dist", "guest.js");

const HASH_LINE = "// guest-sources-sha256: ";
/** The header's lines (buildGuestBundle writes them). */
const HEADER_LINES = 6;

function sourceFiles(dir: string, skip: string, out: string[] = []): string[] {
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && path !== skip) sourceFiles(path, skip, out);
    else if (entry.isFile) out.push(path);
  }
  return out;
}

/**
 * SHA-256 over every file under `dir` but its dist/: each file's path (relative,
 * with `/`), its length and its bytes, in path order. Any change to the
 * guest's sources changes it.
 */
export function guestSourceHash(dir = GUEST_DIR): string {
  const hash = createHash("sha256");
  const files = sourceFiles(dir, join(dir, "dist")).map((path) => ({
    path,
    name: relative(dir, path).split(sep).join("/"),
  }));
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const { path, name } of files) {
    const bytes = Deno.readFileSync(path);
    hash.update(`${name}\0${bytes.length}\0`);
    hash.update(bytes);
  }
  return hash.digest("hex");
}

/** The source hash a bundle's header records ("" when it has none). */
export function bundleSourceHash(bundleText: string): string {
  const line = bundleText.split("\n", HEADER_LINES).find((l) => l.startsWith(HASH_LINE));
  return line ? line.slice(HASH_LINE.length).trim() : "";
}

/** The Deno version a bundle's header says built it ("" when it has none). */
export function bundleDenoVersion(bundleText: string): string {
  const match = /built by Deno (\S+)\./.exec(bundleText.split("\n", HEADER_LINES).join("\n"));
  return match?.[1] ?? "";
}

/** True when `bundle` exists and was built from the sources in `dir` as they are now. */
export function bundleIsFresh(bundle = GUEST_BUNDLE, dir = GUEST_DIR): boolean {
  let head: string;
  try {
    const file = Deno.openSync(bundle);
    try {
      const buffer = new Uint8Array(1024);
      const n = file.readSync(buffer) ?? 0;
      head = new TextDecoder().decode(buffer.subarray(0, n));
    } finally {
      file.close();
    }
  } catch {
    return false;
  }
  const recorded = bundleSourceHash(head);
  return recorded !== "" && recorded === guestSourceHash(dir);
}

/**
 * Bundles guest/main.ts into `outPath` with `deno bundle` (esbuild, fetched
 * from npm on first use), behind a header with the source hash. Written
 * whole or not at all. Throws when the sources change during the build.
 */
export async function buildGuestBundle(outPath = GUEST_BUNDLE): Promise<void> {
  const before = guestSourceHash();
  Deno.mkdirSync(dirname(outPath), { recursive: true });
  const tmp = `${outPath}.${Deno.pid}.tmp`;
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--no-config",
        "--no-lock",
        "--platform=deno",
        "--format=esm",
        "--output",
        tmp,
        relative(PRODUCT_ROOT, GUEST_MAIN),
      ],
      // Relative to the product root, the bundle's `// guest/...` comments are the same everywhere.
      cwd: PRODUCT_ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const why = new TextDecoder().decode(out.stderr).trim();
      throw new Error(`deno bundle failed: ${why}`);
    }
    if (guestSourceHash() !== before) {
      throw new Error("the guest sources changed during the build; run it again");
    }
    const header = [
      // Generated code: deno fmt and deno lint leave it as it is.
      "// deno-fmt-ignore-file",
      "// deno-lint-ignore-file",
      "// The capsule guest: guest/main.ts and everything it imports, in one file.",
      `// Generated by \`deno task build:guest\` (deno bundle), built by Deno ${Deno.version.deno}. Do not edit.`,
      `${HASH_LINE}${before}`,
      "",
    ].join("\n");
    Deno.writeTextFileSync(tmp, header + Deno.readTextFileSync(tmp));
    Deno.renameSync(tmp, outPath);
  } finally {
    try {
      Deno.removeSync(tmp);
    } catch {
      // renamed into place, or never written
    }
  }
}

if (import.meta.main) {
  await buildGuestBundle();
  console.log(`${relative(Deno.cwd(), GUEST_BUNDLE)}: ${Deno.statSync(GUEST_BUNDLE).size} bytes`);
}
