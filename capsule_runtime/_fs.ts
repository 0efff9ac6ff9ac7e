/**
 * A file-system probe that never throws: paths that are usually missing are
 * asked about this way before they are resolved or statted, since a failed
 * resolution throws, at ~12 µs a time, and launch plans ask about ~/.aws,
 * ~/.netrc and the like on every launch.
 */
import { existsSync } from "node:fs";

/** Whether `path` may exist: false only when node:fs says it does not. */
export function mayExist(path: string): boolean {
  try {
    return existsSync(path);
  } catch {
    return true; // not allowed to look: let the caller's own call say
  }
}
