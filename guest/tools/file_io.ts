/**
 * file_io: list, read, write and append files inside the allowed roots.
 * Every path goes through the path policy first; the I/O then runs on the
 * symlink-resolved path that was checked. Guest-safe.
 */
import { dirname, join } from "../policy/node_path.ts";
import { checkPath, type PathMode, type PathPolicy } from "../policy/paths.ts";
import { ArgError, optionalBoolean, optionalNumber } from "./args.ts";
import { describeError } from "./errors.ts";
import {
  booleanLike,
  defineGuestTool,
  type GuestToolDef,
  lowerArg,
  numberLike,
  type ToolArgs,
} from "./tool_def.ts";
import { failure, success, type ToolContext, type ToolResult } from "./types.ts";

/** Default read cap: larger files are cut and flagged `truncated`. */
export const DEFAULT_MAX_READ_BYTES = 1024 * 1024;
/** Longest content accepted by write and append. */
export const MAX_WRITE_CHARS = 5_000_000;
/** Directory entries read per folder before giving up on it. */
const MAX_DIR_SCAN = 50_000;

/** One row of a listing. */
export interface ListEntry {
  path: string;
  name: string;
  kind: "file" | "dir" | "symlink" | "other";
  size_bytes: number | null;
}

function policyOf(ctx: ToolContext): PathPolicy {
  return {
    workspace: ctx.workspace,
    readRoots: ctx.readRoots,
    writeRoots: ctx.writeRoots,
    fileWrite: ctx.fileWrite,
    denyPaths: ctx.denyPaths,
  };
}

function byPath(a: ListEntry, b: ListEntry): number {
  const x = a.path.toLowerCase(), y = b.path.toLowerCase();
  return x < y ? -1 : x > y ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function kindOf(
  entry: { isFile: boolean; isDirectory: boolean; isSymlink: boolean },
): ListEntry["kind"] {
  if (entry.isSymlink) return "symlink";
  if (entry.isDirectory) return "dir";
  return entry.isFile ? "file" : "other";
}

/** Lists `realDir` (reported under `logicalDir`); never descends into symlinks. */
async function walk(
  realDir: string,
  logicalDir: string,
  recursive: boolean,
  maxEntries: number,
): Promise<{ entries: ListEntry[]; truncated: boolean }> {
  const entries: ListEntry[] = [];
  let truncated = false;
  const visit = async (real: string, logical: string): Promise<void> => {
    const items: Deno.DirEntry[] = [];
    for await (const item of Deno.readDir(real)) {
      if (items.length >= MAX_DIR_SCAN) {
        truncated = true;
        break;
      }
      items.push(item);
    }
    items.sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
    for (const item of items) {
      if (entries.length >= maxEntries) {
        truncated = true;
        return;
      }
      const realPath = join(real, item.name);
      let size: number | null = null;
      try {
        size = (await Deno.lstat(realPath)).size;
      } catch {
        // Vanished or unreadable: list it without a size.
      }
      entries.push({
        path: join(logical, item.name),
        name: item.name,
        kind: kindOf(item),
        size_bytes: size,
      });
      // Real directories only: a symlinked directory may point outside the roots.
      if (recursive && item.isDirectory && !item.isSymlink) {
        try {
          await visit(realPath, join(logical, item.name));
        } catch {
          // An unreadable sub-folder is listed but not entered.
        }
      }
      if (truncated) return;
    }
  };
  await visit(realDir, logicalDir);
  entries.sort(byPath);
  return { entries, truncated };
}

/**
 * Reads at most `maxBytes` of a file as strict UTF-8. Sync calls on purpose:
 * each async file call costs ~60 µs of thread hand-off, more than reading a
 * small file; the guest serves one subtask, so nothing else waits meanwhile.
 */
function readCapped(
  realPath: string,
  maxBytes: number,
): { content: string; size: number; truncated: boolean } | { error: string } {
  // What the path is, before opening it: opening a FIFO would wait for a writer.
  const kind = Deno.statSync(realPath);
  if (kind.isDirectory) return { error: "is a directory: use op=list" };
  if (!kind.isFile) return { error: "is not a regular file" };
  using file = Deno.openSync(realPath, { read: true });
  const info = file.statSync();
  if (!info.isFile) return { error: "is not a regular file" };
  // Read to EOF (one byte past the cap at most), not to the stat size: files under /proc
  // report 0 and a file may grow meanwhile. The buffer starts at the stat size and grows.
  let buffer = new Uint8Array(Math.min(maxBytes, info.size || 4096) + 1);
  let filled = 0;
  for (;;) {
    if (filled === buffer.length) {
      if (filled > maxBytes) break;
      const bigger = new Uint8Array(Math.min(maxBytes + 1, buffer.length * 2));
      bigger.set(buffer);
      buffer = bigger;
    }
    const n = file.readSync(buffer.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  const truncated = filled > maxBytes;
  const bytes = buffer.subarray(0, Math.min(filled, maxBytes));
  try {
    // `stream: true` tolerates a multi-byte character cut by the cap.
    const content = new TextDecoder("utf-8", { fatal: true }).decode(bytes, { stream: truncated });
    return { content, size: info.size, truncated };
  } catch {
    return { error: "is not valid UTF-8 text (binary file?)" };
  }
}

function checked(raw: unknown, mode: PathMode, ctx: ToolContext) {
  return checkPath(raw, mode, policyOf(ctx));
}

/**
 * Runs the `file_io` tool.
 *
 * @example
 * ```ts
 * await runFileIo({ op: "read", path: "notes.txt" }, ctx); // { ok, result: { content, size_bytes, truncated } }
 * ```
 */
export async function runFileIo(
  args: Record<string, unknown>,
  ctx: ToolContext,
): Promise<ToolResult> {
  const op = args.op;
  const rawPath = args.path ?? (op === "list" ? "." : undefined);
  try {
    switch (op) {
      case "list": {
        const recursive = optionalBoolean(args, "recursive", false);
        const maxEntries = Math.trunc(optionalNumber(args, "max_entries", 200, 1, 2000));
        const check = checked(rawPath, "read", ctx);
        if (!check.ok) return failure(check.error);
        const what = `folder '${check.path}'`;
        try {
          const info = await Deno.stat(check.realPath);
          if (!info.isDirectory) return failure(`${what} is not a directory: use op=read`);
          const { entries, truncated } = await walk(
            check.realPath,
            check.path,
            recursive,
            maxEntries,
          );
          return success({ path: check.path, recursive, truncated, entries });
        } catch (error) {
          return failure(describeError(error, what));
        }
      }
      case "read": {
        const check = checked(rawPath, "read", ctx);
        if (!check.ok) return failure(check.error);
        const what = `file '${check.path}'`;
        try {
          const read = readCapped(
            check.realPath,
            ctx.limits?.maxReadBytes ?? DEFAULT_MAX_READ_BYTES,
          );
          if ("error" in read) return failure(`${what} ${read.error}`);
          return success({
            path: check.path,
            content: read.content,
            size_bytes: read.size,
            truncated: read.truncated,
          });
        } catch (error) {
          return failure(describeError(error, what));
        }
      }
      case "write":
      case "append": {
        const content = args.content;
        if (typeof content !== "string") {
          return failure(`file_io: 'content' (a string) is required for op=${op}`);
        }
        if (content.length > MAX_WRITE_CHARS) {
          return failure(`file_io: 'content' is longer than ${MAX_WRITE_CHARS} characters`);
        }
        const check = checked(rawPath, "write", ctx);
        if (!check.ok) return failure(check.error);
        const what = `file '${check.path}'`;
        try {
          const existing = await Deno.stat(check.realPath).catch(() => null);
          if (existing?.isDirectory) return failure(`${what} is a directory`);
          // A pipe, device or socket: opening one to write may wait for a reader.
          if (existing && !existing.isFile) return failure(`${what} is not a regular file`);
          await Deno.mkdir(dirname(check.realPath), { recursive: true });
          const data = new TextEncoder().encode(content);
          await Deno.writeFile(check.realPath, data, { append: op === "append", create: true });
          return success(
            op === "write"
              ? { written: true, path: check.path, bytes: data.length }
              : { appended: true, path: check.path, bytes: data.length },
          );
        } catch (error) {
          return failure(describeError(error, what));
        }
      }
      default:
        return failure(
          `file_io: 'op' must be one of list, read, write, append (got ${JSON.stringify(op)})`,
        );
    }
  } catch (error) {
    if (error instanceof ArgError) return failure(`file_io: ${error.message}`);
    return failure(describeError(error, "file_io"));
  }
}

/** `list`'s `max_entries` range; values outside it are clamped to 1..2000. */
export const MAX_ENTRIES_RANGE = { min: 1, max: 2000 } as const;

function coerceFileIo(args: ToolArgs, warnings: string[]): void {
  if (typeof args.op === "string") args.op = args.op.trim().toLowerCase();
  if ("recursive" in args) args.recursive = booleanLike(args.recursive);
  if (!("max_entries" in args)) return;
  args.max_entries = numberLike(args.max_entries);
  if (typeof args.max_entries !== "number" || !Number.isFinite(args.max_entries)) return;
  // Out of range is clamped with a warning rather than failing the call.
  const clamped = Math.min(
    MAX_ENTRIES_RANGE.max,
    Math.max(MAX_ENTRIES_RANGE.min, Math.trunc(args.max_entries)),
  );
  if (clamped !== args.max_entries) {
    warnings.push(`max_entries ${args.max_entries} clamped to ${clamped}`);
  }
  args.max_entries = clamped;
}

/** The file_io tool: reads its roots; writes and appends are side effects. */
export const fileIoTool: GuestToolDef<"file_io"> = defineGuestTool({
  name: "file_io",
  aliases: {
    operation: "op",
    action: "op",
    file: "path",
    file_path: "path",
    filepath: "path",
    data: "content",
    text: "content",
  },
  maxTimeoutS: 0,
  coerce: coerceFileIo,
  sideEffects: "depends",
  // Anything not clearly a read is treated as a write.
  hasSideEffects: (args) => !["list", "read"].includes(lowerArg(args.op)),
  permission: "path",
  run: runFileIo,
});
