/**
 * The `node:path` functions the guest uses, with node:path loaded after the
 * capsule starts instead of at import: a static `import … from "node:path"`
 * starts part of Deno's Node layer before a capsule can even say `ready`
 * (~7 ms of every capsule's start, bench/capsule_bench.ts), though nothing
 * before its first tool call needs a path. guest/main.ts calls
 * `loadNodePath` while the model answers the first request; a call that
 * comes first (or any call in the host) loads it on the spot. Same functions,
 * same results: every call is node:path's own.
 */
import type NodePath from "node:path";

let loaded: typeof NodePath | undefined;
let loading: Promise<void> | undefined;

/** Loads node:path in the background (once); the functions below then use it. */
export function loadNodePath(): Promise<void> {
  loading ??= import("node:path").then((module) => {
    loaded ??= module.default;
  });
  return loading;
}

// process.getBuiltinModule loads it synchronously: the fallback when nothing loaded it yet.
const nodePath = (): typeof NodePath => (loaded ??= process.getBuiltinModule("node:path"));

export const basename: typeof NodePath.basename = (path, suffix) =>
  nodePath().basename(path, suffix);
export const dirname: typeof NodePath.dirname = (path) => nodePath().dirname(path);
export const isAbsolute: typeof NodePath.isAbsolute = (path) => nodePath().isAbsolute(path);
export const join: typeof NodePath.join = (...paths) => nodePath().join(...paths);
export const relative: typeof NodePath.relative = (from, to) => nodePath().relative(from, to);
export const resolve: typeof NodePath.resolve = (...paths) => nodePath().resolve(...paths);
/** node:path's `sep`, without loading it. */
export const sep: string = Deno.build.os === "windows" ? "\\" : "/";
