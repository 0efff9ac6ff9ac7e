/** Host spec of `file_io`: list, read, write or append inside the allowed roots. */
import { z } from "zod";
import { checkPath } from "../../guest/policy/paths.ts";
import { fileIoTool, MAX_ENTRIES_RANGE, MAX_WRITE_CHARS } from "../../guest/tools/file_io.ts";
import { pathPolicy } from "./_shared.ts";
import { defineHostTool, type HostToolSpec } from "./types.ts";

const writeOps = new Set(["write", "append"]);

export const fileIoSpec: HostToolSpec<"file_io"> = defineHostTool(fileIoTool, {
  description:
    "List, read, write or append files inside this agent's allowed folders. Paths are relative to " +
    "the workspace (or absolute inside an allowed folder; $WORKSPACE is replaced; ~ is NOT expanded). " +
    "list → {path, recursive, truncated, entries[{path, name, kind, size_bytes}]} (max_entries 1..2000, " +
    "default 200); read → {content, size_bytes, truncated} (UTF-8 text only, cut at 1 MiB); write → " +
    "{written, path, bytes} (creates folders); append → {appended, path, bytes}. Writing needs write permission.",
  argsSchema: z.object({
    op: z.enum(["list", "read", "write", "append"]).describe("Operation."),
    path: z.string().min(1).max(4096).default(".").describe(
      "File or folder: relative to the workspace, absolute, or starting with $WORKSPACE.",
    ),
    content: z.string().max(MAX_WRITE_CHARS).optional().describe(
      "Text to write or append (required for write/append).",
    ),
    recursive: z.boolean().default(false).describe("list: include sub-folders."),
    max_entries: z.number().int().min(MAX_ENTRIES_RANGE.min).max(MAX_ENTRIES_RANGE.max).default(
      200,
    ).describe("list: most entries returned (1..2000)."),
  }).strict().superRefine((value, context) => {
    if (writeOps.has(value.op) && value.content === undefined) {
      context.addIssue({
        code: "custom",
        path: ["content"],
        message: `required for op=${value.op}`,
      });
    }
  }),
  riskLevel: "medium",
  check: async (args, options) => {
    const mode = writeOps.has(String(args.op)) ? "write" : "read";
    const check = await checkPath(args.path, mode, pathPolicy(options.ctx));
    return check.ok ? { ok: true } : { ok: false, reason: check.error };
  },
  launch: (perm) => ({
    denoRead: perm.readRoots,
    denoWrite: perm.fileWrite ? perm.writeRoots : [],
    roBinds: perm.readRoots,
    rwBinds: perm.fileWrite ? perm.writeRoots : [],
  }),
});
