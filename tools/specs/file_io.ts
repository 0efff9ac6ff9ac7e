/** Host spec of `file_io`: list, read, write or append inside the allowed roots. */
import { z } from "zod";
import { checkPath } from "../../guest/policy/paths.ts";
import { fileIoTool, MAX_ENTRIES_RANGE, MAX_WRITE_CHARS } from "../../guest/tools/file_io.ts";
import { pathPolicy } from "./_shared.ts";
import { defineHostTool, type HostToolSpec } from "./types.ts";

const writeOps = new Set(["write", "append"]);

/** What an agent without write access is told instead (capsule_runtime/tool_declarations.ts). */
export const FILE_IO_READ_ONLY_DESCRIPTION =
  "List or read text files. Paths: relative to the workspace, or absolute.";

export const fileIoSpec: HostToolSpec<"file_io"> = defineHostTool(fileIoTool, {
  // Sent with every model step: what the model needs to call it, no more.
  description:
    "List, read, write or append UTF-8 text files in this agent's folders. Paths: relative to " +
    "the workspace, or absolute. list → entries[{path, kind, " +
    "size_bytes}]; read → the file's text ({content, truncated: true} if cut); write/append → {path, bytes} (needs write access).",
  argsSchema: z.object({
    op: z.enum(["list", "read", "write", "append"]),
    path: z.string().min(1).max(4096).default("."),
    content: z.string().max(MAX_WRITE_CHARS).optional().describe("write/append: the text."),
    recursive: z.boolean().default(false).describe("list: include sub-folders."),
    max_entries: z.number().int().min(MAX_ENTRIES_RANGE.min).max(MAX_ENTRIES_RANGE.max).default(
      200,
    ).describe("list: max entries (default 200)."),
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
  check: (args, options) => {
    const mode = writeOps.has(String(args.op)) ? "write" : "read";
    const check = checkPath(args.path, mode, pathPolicy(options.ctx));
    return check.ok ? { ok: true } : { ok: false, reason: check.error };
  },
  launch: (perm) => ({
    denoRead: perm.readRoots,
    denoWrite: perm.fileWrite ? perm.writeRoots : [],
    roBinds: perm.readRoots,
    rwBinds: perm.fileWrite ? perm.writeRoots : [],
  }),
});
