/**
 * What a bubblewrap capsule's mounts were made from: the identity (device and
 * inode) of every path its command line binds, masks or hides. bwrap binds an
 * inode, not a name: a folder deleted and made again, or a secret file
 * replaced by a rename, is no longer what a running capsule sees at that path
 * (the new folder is not in it; the new secret is not masked). A capsule kept
 * for a later subtask is handed over only while its stamp still matches
 * (capsule_pool.ts).
 */

import { mayExist } from "./_fs.ts";

/** bwrap options followed by a source and a destination path. */
const TWO_PATHS = new Set([
  "--bind",
  "--bind-try",
  "--ro-bind",
  "--ro-bind-try",
  "--dev-bind",
  "--dev-bind-try",
]);

/** bwrap options followed by one destination path. */
const ONE_PATH = new Set(["--tmpfs", "--dir", "--remount-ro"]);

function identity(path: string): string {
  // Masked secrets are often missing: ask without a throw (~15 µs) first.
  if (!mayExist(path)) return "-";
  try {
    const info = Deno.statSync(path);
    return `${info.dev}:${info.ino}`;
  } catch {
    return "-";
  }
}

/**
 * The stamp of a bwrap command line: each bound, masked or hidden path with
 * its identity now. Two stamps are equal only when every such path is still
 * the same file or folder (or still missing).
 */
export function mountStamp(args: readonly string[]): string {
  const paths: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--") break;
    if (TWO_PATHS.has(args[i])) paths.push(args[i + 1], args[i + 2]), i += 2;
    else if (ONE_PATH.has(args[i])) paths.push(args[i + 1]), i += 1;
  }
  // A bind's source and destination are mostly the same path: each is looked at once.
  const unique = new Set(paths.filter((p) => p?.startsWith("/")));
  return [...unique].map((p) => `${p}=${identity(p)}`).join("\n");
}
