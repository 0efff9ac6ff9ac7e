import assert from "node:assert/strict";
import { join } from "node:path";
import { runTool, type ToolContext } from "../../guest/tools/run.ts";
import { tempDir } from "../helpers/temp.ts";
import { toolContext } from "../helpers/tool_context.ts";

async function workspace(root: string) {
  const base = await Deno.realPath(root);
  const ws = join(base, "ws");
  const outside = join(base, "outside");
  await Deno.mkdir(join(ws, "docs", "deep"), { recursive: true });
  await Deno.mkdir(outside);
  await Deno.writeTextFile(join(ws, "b.txt"), "bee");
  await Deno.writeTextFile(join(ws, "A.txt"), "ay");
  await Deno.writeTextFile(join(ws, "c.txt"), "sea");
  await Deno.writeTextFile(join(ws, "docs", "deep", "note.md"), "# note");
  await Deno.writeTextFile(join(outside, "secret.txt"), "top secret");
  await Deno.symlink(outside, join(ws, "outlink"));
  const ctx = toolContext(ws, { writeRoots: ["."], fileWrite: true });
  return { ws, outside, ctx };
}

Deno.test("file_io list: entries sorted case-insensitively with the seed's shape", async () => {
  await using dir = await tempDir();
  const { ws, ctx } = await workspace(dir.path);
  const out = await runTool("file_io", { op: "list" }, ctx);
  assert.ok(out.ok, out.error);
  assert.equal(out.result.path, ws);
  assert.equal(out.result.recursive, false);
  assert.equal(out.result.truncated, false);
  const entries = out.result.entries as {
    path: string;
    name: string;
    kind: string;
    size_bytes: number;
  }[];
  assert.deepEqual(entries.map((e) => e.name), ["A.txt", "b.txt", "c.txt", "docs", "outlink"]);
  assert.deepEqual(entries[0], {
    path: join(ws, "A.txt"),
    name: "A.txt",
    kind: "file",
    size_bytes: 2,
  });
  assert.equal(entries[3].kind, "dir");
  assert.equal(entries[4].kind, "symlink");
});

Deno.test("file_io list: recursive never follows a symlinked folder out of the roots", async () => {
  await using dir = await tempDir();
  const { ws, ctx } = await workspace(dir.path);
  const out = await runTool("file_io", { op: "list", recursive: true }, ctx);
  assert.ok(out.ok, out.error);
  const paths = (out.result.entries as { path: string }[]).map((e) => e.path.slice(ws.length + 1));
  assert.deepEqual(paths, [
    "A.txt",
    "b.txt",
    "c.txt",
    "docs",
    "docs/deep",
    "docs/deep/note.md",
    "outlink",
  ]);
  assert.ok(!paths.some((p) => p.includes("secret")));
  const direct = await runTool("file_io", { op: "list", path: "outlink" }, ctx);
  assert.ok(!direct.ok && /symbolic link/.test(direct.error));
});

Deno.test("file_io list: max_entries is clamped and truncation flagged", async () => {
  await using dir = await tempDir();
  const { ctx } = await workspace(dir.path);
  const out = await runTool("file_io", { op: "list", recursive: true, max_entries: 2 }, ctx);
  assert.ok(out.ok);
  assert.equal((out.result.entries as unknown[]).length, 2);
  assert.equal(out.result.truncated, true);
  const clamped = await runTool("file_io", { op: "list", max_entries: 0 }, ctx);
  assert.equal((clamped.result.entries as unknown[]).length, 1);
  assert.match(String((clamped.result.warnings as string[])[0]), /clamped to 1/);
});

Deno.test("file_io read: content, size and the byte cap (never splitting a character)", async () => {
  await using dir = await tempDir();
  const { ws, ctx } = await workspace(dir.path);
  const out = await runTool("file_io", { action: "read", file: "b.txt" }, ctx);
  assert.deepEqual(out, {
    ok: true,
    result: { path: join(ws, "b.txt"), content: "bee", size_bytes: 3, truncated: false },
    error: "",
  });
  await Deno.writeTextFile(join(ws, "accents.txt"), "ééééé"); // 10 bytes
  const cut = await runTool("file_io", { op: "read", path: "accents.txt" }, {
    ...ctx,
    limits: { maxReadBytes: 5 },
  });
  assert.ok(cut.ok, cut.error);
  assert.equal(cut.result.content, "éé");
  assert.equal(cut.result.size_bytes, 10);
  assert.equal(cut.result.truncated, true);
  await Deno.writeFile(join(ws, "big.txt"), new Uint8Array(2 * 1024 * 1024).fill(97));
  const big = await runTool("file_io", { op: "read", path: "big.txt" }, ctx);
  assert.equal(String(big.result.content).length, 1024 * 1024, "default cap 1 MiB");
  assert.equal(big.result.truncated, true);
});

Deno.test("file_io read: missing, binary, directory and outside files are ok:false", async () => {
  await using dir = await tempDir();
  const { ws, outside, ctx } = await workspace(dir.path);
  await Deno.writeFile(join(ws, "blob.bin"), new Uint8Array([0xff, 0xfe, 0x00, 0x80]));
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ op: "read", path: "missing.txt" }, /^file '.*missing\.txt' not found$/],
    [{ op: "read", path: "blob.bin" }, /is not valid UTF-8 text/],
    [{ op: "read", path: "docs" }, /is a directory: use op=list/],
    [{ op: "list", path: "b.txt" }, /is not a directory: use op=read/],
    [{ op: "read", path: join(outside, "secret.txt") }, /outside the allowed read roots/],
    [{ op: "read", path: "outlink/secret.txt" }, /symbolic link/],
    [{ op: "read", path: "../outside/secret.txt" }, /outside the allowed read roots/],
    [{ op: "read" }, /path must be a non-empty string/],
    [{ op: "delete", path: "b.txt" }, /'op' must be one of list, read, write, append/],
    [{ op: "list", max_entries: "many" }, /'max_entries' must be a number/],
  ];
  for (const [args, pattern] of cases) {
    const out = await runTool("file_io", args, ctx);
    assert.equal(out.ok, false, JSON.stringify(args));
    assert.match(out.error, pattern, JSON.stringify(args));
  }
});

Deno.test("file_io write/append: creates folders, reports bytes, appends", async () => {
  await using dir = await tempDir();
  const { ws, ctx } = await workspace(dir.path);
  const written = await runTool(
    "file_io",
    { op: "write", path: "new/sub/out.txt", text: "héllo" },
    ctx,
  );
  assert.deepEqual(written, {
    ok: true,
    result: { written: true, path: join(ws, "new/sub/out.txt"), bytes: 6 },
    error: "",
  });
  const appended = await runTool("file_io", {
    op: "append",
    path: "$WORKSPACE/new/sub/out.txt",
    content: "!\n",
  }, ctx);
  assert.deepEqual(appended.result, {
    appended: true,
    path: join(ws, "new/sub/out.txt"),
    bytes: 2,
  });
  assert.equal(await Deno.readTextFile(join(ws, "new/sub/out.txt")), "héllo!\n");
  const empty = await runTool("file_io", { op: "write", path: "empty.txt", content: "" }, ctx);
  assert.ok(empty.ok);
  assert.equal(await Deno.readTextFile(join(ws, "empty.txt")), "");
});

Deno.test("file_io write: refused without permission, outside write roots, or through a symlink", async () => {
  await using dir = await tempDir();
  const { ws, outside, ctx } = await workspace(dir.path);
  const cases: [Record<string, unknown>, Partial<ToolContext>, RegExp][] = [
    [
      { op: "write", path: "x.txt", content: "x" },
      { fileWrite: false },
      /no file write permission/,
    ],
    [
      { op: "write", path: "x.txt", content: "x" },
      { writeRoots: ["docs"] },
      /outside the allowed write roots/,
    ],
    [{ op: "write", path: "outlink/planted.txt", content: "x" }, {}, /symbolic link/],
    [
      { op: "append", path: join(outside, "secret.txt"), content: "x" },
      {},
      /outside the allowed write roots/,
    ],
    [{ op: "write", path: "x.txt" }, {}, /'content' \(a string\) is required for op=write/],
    [{ op: "write", path: "docs", content: "x" }, {}, /is a directory/],
    [{ op: "write", path: "~/.bashrc", content: "x" }, {}, /'~'/],
  ];
  for (const [args, extra, pattern] of cases) {
    const out = await runTool("file_io", args, { ...ctx, ...extra });
    assert.equal(out.ok, false, JSON.stringify(args));
    assert.match(out.error, pattern, JSON.stringify(args));
  }
  assert.equal(await Deno.readTextFile(join(outside, "secret.txt")), "top secret");
  await assert.rejects(Deno.stat(join(outside, "planted.txt")), Deno.errors.NotFound);
  await assert.rejects(Deno.stat(join(ws, "x.txt")), Deno.errors.NotFound);
});

Deno.test("file_io: protected paths are refused even inside the roots", async () => {
  await using dir = await tempDir();
  const { ws, ctx } = await workspace(dir.path);
  await Deno.writeTextFile(join(ws, ".env"), "OPENAI_API_KEY=sk-x");
  const read = await runTool("file_io", { op: "read", path: ".env" }, {
    ...ctx,
    denyPaths: [".env"],
  });
  assert.ok(!read.ok && /protected/.test(read.error));
  const write = await runTool("file_io", { op: "write", path: ".env", content: "x" }, {
    ...ctx,
    denyPaths: [join(ws, ".env")],
  });
  assert.ok(!write.ok && /protected/.test(write.error));
  assert.equal(await Deno.readTextFile(join(ws, ".env")), "OPENAI_API_KEY=sk-x");
});

Deno.test("runTool: unknown tools and non-object args are ok:false, never thrown", async () => {
  await using dir = await tempDir();
  const { ctx } = await workspace(dir.path);
  assert.deepEqual(await runTool("rm_everything", {}, ctx), {
    ok: false,
    result: {},
    error:
      "unknown tool 'rm_everything': expected one of terminal, http_api, web_fetch, file_io, python_exec, sql_query",
  });
  for (const args of [null, "read", [1], 42]) {
    const out = await runTool("file_io", args, ctx);
    assert.ok(!out.ok && /args must be a JSON object/.test(out.error));
  }
  const warned = await runTool("file_io", { op: "read", path: "b.txt", file: "c.txt" }, ctx);
  assert.equal(warned.result.content, "bee");
  assert.match(String((warned.result.warnings as string[])[0]), /dropped alias 'file'/);
});

Deno.test("file_io read: a file whose size the system reports as 0 is read whole", async () => {
  // Files under /proc report size 0 but have content; the stat size must not cap the read.
  const procSelf = await Deno.realPath("/proc/self");
  const ctx = toolContext(procSelf);
  const out = await runTool("file_io", { op: "read", path: "status" }, ctx);
  assert.ok(out.ok, out.error);
  assert.equal(out.result.truncated, false);
  assert.match(out.result.content as string, /^Name:.*\n[\s\S]*\nPid:\s+\d+/);
});

Deno.test("file_io: a named pipe is refused for reading and writing, never opened", async () => {
  await using dir = await tempDir();
  const { ws } = await workspace(dir.path);
  // A planted FIFO: opening it would wait until something opens the other end.
  const made = await new Deno.Command("mkfifo", { args: [join(ws, "pipe")] }).output();
  assert.ok(made.success, "mkfifo failed");
  // In a process of its own, with a capsule's file permissions (its workspace only): a
  // read that opened the pipe would block that whole thread.
  const run = new URL("../../guest/tools/run.ts", import.meta.url).href;
  const script = join(dir.path, "pipe_probe.ts");
  Deno.writeTextFileSync(
    script,
    `import { runTool } from ${JSON.stringify(run)};
    const ctx = { workspace: ${JSON.stringify(ws)}, readRoots: ["."], writeRoots: ["."],
      fileWrite: true, sqlPaths: [], networkHosts: [] };
    const read = await runTool("file_io", { op: "read", path: "pipe" }, ctx);
    const write = await runTool("file_io", { op: "write", path: "pipe", content: "x" }, ctx);
    console.log(JSON.stringify({ read, write }));`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--no-prompt",
      `--allow-read=${ws}`,
      `--allow-write=${ws}`,
      script,
    ],
    signal: AbortSignal.timeout(20_000),
  }).output();
  assert.ok(out.success, `the tool waited on the pipe: ${new TextDecoder().decode(out.stderr)}`);
  const { read, write } = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(read.ok, false);
  assert.match(read.error, /not a regular file/);
  assert.equal(write.ok, false);
  assert.match(write.error, /not a regular file/);
});
