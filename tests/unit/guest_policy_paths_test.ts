import { existsSync } from "node:fs";
import assert from "node:assert/strict";
import { isAbsolute, join, relative } from "node:path";
import { checkPath, expandWorkspace, isInside, type PathPolicy } from "../../guest/policy/paths.ts";
import { tempDir } from "../helpers/temp.ts";

/**
 * Layout (under a fresh temp dir, realpath'd):
 *   ws/sub/a.txt  ws/.env  ws/out/            the workspace
 *   ws/link_out     -> outside/secret.txt      symlink to a file outside
 *   ws/dirlink      -> outside                 symlinked folder outside
 *   ws/inner_link   -> ws/sub/a.txt            symlink that stays inside
 *   ws/dangling     -> outside/nothing.txt     dangling symlink pointing outside
 *   ws/envlink      -> ws/.env                 symlink to a protected file
 *   ws2/file.txt                               sibling whose name extends "ws"
 *   outside/secret.txt
 */
async function layout(root: string) {
  const base = await Deno.realPath(root);
  const ws = join(base, "ws");
  const outside = join(base, "outside");
  await Deno.mkdir(join(ws, "sub"), { recursive: true });
  await Deno.mkdir(join(ws, "out"), { recursive: true });
  await Deno.mkdir(outside, { recursive: true });
  await Deno.mkdir(join(base, "ws2"), { recursive: true });
  await Deno.writeTextFile(join(ws, "sub", "a.txt"), "hello");
  await Deno.writeTextFile(join(ws, ".env"), "KEY=secret");
  await Deno.writeTextFile(join(outside, "secret.txt"), "top secret");
  await Deno.writeTextFile(join(base, "ws2", "file.txt"), "sibling");
  await Deno.symlink(join(outside, "secret.txt"), join(ws, "link_out"));
  await Deno.symlink(outside, join(ws, "dirlink"));
  await Deno.symlink(join(ws, "sub", "a.txt"), join(ws, "inner_link"));
  await Deno.symlink(join(outside, "nothing.txt"), join(ws, "dangling"));
  await Deno.symlink(join(ws, ".env"), join(ws, "envlink"));
  const policy: PathPolicy = {
    workspace: ws,
    readRoots: ["."],
    writeRoots: ["out"],
    fileWrite: true,
    denyPaths: [".env"],
  };
  return { base, ws, outside, policy };
}

Deno.test("isInside: equal or below, never a sibling sharing a prefix", () => {
  assert.ok(isInside("/a/b", "/a/b"));
  assert.ok(isInside("/a/b/c", "/a/b"));
  assert.ok(!isInside("/a/bc", "/a/b"));
  assert.ok(!isInside("/a", "/a/b"));
  assert.ok(!isInside("/a/b/../c", "/a/b"), "node:path normalises before comparing");
  assert.ok(isInside("/a/b/..c", "/a/b"), "a name starting with dots is still inside");
});

Deno.test("isInside: the prefix shortcut answers as node:path's relative does, for every shape", () => {
  const reference = (child: string, parent: string) => {
    if (child === parent) return true;
    const rel = relative(parent, child);
    return rel !== "" && rel !== ".." && !rel.startsWith("../") && !isAbsolute(rel);
  };
  const paths = [
    "/",
    "/a",
    "/a/",
    "/a/b",
    "/a/b/",
    "/a/bc",
    "/a/b/c",
    "/a/b/c/d",
    "/a//b",
    "/a/./b",
    "/a/b/..",
    "/a/b/../c",
    "/a/b/..c",
    "/a/b/.c",
    "/a/b/c.",
    "/ab",
    "/a/b/c/..",
    "/.a",
    "/..",
  ];
  for (const child of paths) {
    for (const parent of paths) {
      assert.equal(isInside(child, parent), reference(child, parent), `${child} in ${parent}`);
    }
  }
});

Deno.test("expandWorkspace: both spellings, not a longer variable name", () => {
  assert.equal(expandWorkspace("$WORKSPACE/a", "/ws"), "/ws/a");
  assert.equal(expandWorkspace("${WORKSPACE}/a", "/ws"), "/ws/a");
  assert.equal(expandWorkspace("$WORKSPACE_X/a", "/ws"), "$WORKSPACE_X/a");
});

Deno.test("paths: relative, absolute inside, $WORKSPACE and normalised .. are allowed", async () => {
  await using dir = await tempDir();
  const { ws, policy } = await layout(dir.path);
  for (
    const raw of [
      "sub/a.txt",
      join(ws, "sub/a.txt"),
      "$WORKSPACE/sub/a.txt",
      "${WORKSPACE}/sub/a.txt",
      "sub/../sub/a.txt",
      "./sub//a.txt",
    ]
  ) {
    const check = checkPath(raw, "read", policy);
    assert.ok(check.ok, raw);
    assert.equal(check.path, join(ws, "sub/a.txt"));
    assert.equal(check.realPath, join(ws, "sub/a.txt"));
    assert.equal(check.exists, true);
  }
  const root = checkPath(".", "read", policy);
  assert.ok(root.ok && root.path === ws);
});

Deno.test("paths: .. escapes and absolute paths outside are refused with the roots named", async () => {
  await using dir = await tempDir();
  const { ws, base, policy } = await layout(dir.path);
  for (
    const raw of [
      "../outside/secret.txt",
      "sub/../../outside/secret.txt",
      "/etc/passwd",
      join(base, "ws2/file.txt"),
      "..",
      "$WORKSPACE/../outside",
    ]
  ) {
    const check = checkPath(raw, "read", policy);
    assert.equal(check.ok, false, raw);
    if (!check.ok) {
      assert.match(check.error, /outside the allowed read roots/);
      assert.ok(check.error.includes(ws), "names the allowed root");
      assert.ok(check.error.includes(raw), "names the path");
    }
  }
});

Deno.test("paths: a symlink inside the workspace pointing outside is refused", async () => {
  await using dir = await tempDir();
  const { policy } = await layout(dir.path);
  for (const raw of ["link_out", "dirlink/secret.txt", "dirlink"]) {
    const check = checkPath(raw, "read", policy);
    assert.equal(check.ok, false, raw);
    if (!check.ok) assert.match(check.error, /symbolic link .* outside the allowed read roots/);
  }
  const inner = checkPath("inner_link", "read", policy);
  assert.ok(inner.ok, "a symlink that stays inside is fine");
});

Deno.test("paths: writes through a symlinked parent or a dangling link are refused", async () => {
  await using dir = await tempDir();
  const { ws, outside } = await layout(dir.path);
  const policy: PathPolicy = {
    workspace: ws,
    readRoots: ["."],
    writeRoots: ["."],
    fileWrite: true,
  };
  const viaParent = checkPath("dirlink/new.txt", "write", policy);
  assert.equal(viaParent.ok, false);
  if (!viaParent.ok) assert.ok(viaParent.error.includes(join(outside, "new.txt")));
  const deepParent = checkPath("dirlink/a/b/c.txt", "write", policy);
  assert.equal(deepParent.ok, false);
  const dangling = checkPath("dangling", "write", policy);
  assert.equal(dangling.ok, false);
  if (!dangling.ok) assert.match(dangling.error, /broken or looping symbolic link/);
  const fresh = checkPath("new/dir/file.txt", "write", policy);
  assert.ok(fresh.ok);
  assert.equal(fresh.exists, false);
  assert.equal(fresh.realPath, join(ws, "new/dir/file.txt"));
});

Deno.test("paths: writing needs file_write and a write root", async () => {
  await using dir = await tempDir();
  const { policy } = await layout(dir.path);
  const noWrite = checkPath("out/x.txt", "write", { ...policy, fileWrite: false });
  assert.ok(!noWrite.ok && /no file write permission/.test(noWrite.error));
  const outsideRoot = checkPath("sub/a.txt", "write", policy);
  assert.ok(!outsideRoot.ok && /outside the allowed write roots/.test(outsideRoot.error));
  const inRoot = checkPath("out/new/x.txt", "write", policy);
  assert.ok(inRoot.ok);
  const noRoots = checkPath("out/x.txt", "write", { ...policy, writeRoots: [] });
  assert.ok(!noRoots.ok && /no write roots/.test(noRoots.error));
  // Reading is not affected by the write switch.
  assert.ok(checkPath("sub/a.txt", "read", { ...policy, fileWrite: false }).ok);
});

Deno.test("paths: ~ is refused, not silently expanded", async () => {
  await using dir = await tempDir();
  const { policy } = await layout(dir.path);
  for (const raw of ["~", "~/x.txt", "~root/.ssh/id_rsa", " ~/x"]) {
    const check = checkPath(raw, "read", policy);
    assert.ok(!check.ok && /'~'/.test(check.error), raw);
  }
  // A ~ inside a name is an ordinary character.
  assert.ok(checkPath("sub/~backup", "read", policy).ok);
});

Deno.test("paths: protected paths stay refused, directly, via .. or via a symlink", async () => {
  await using dir = await tempDir();
  const { policy } = await layout(dir.path);
  for (const raw of [".env", "sub/../.env", "envlink", "$WORKSPACE/.env"]) {
    const check = checkPath(raw, "read", policy);
    assert.ok(!check.ok && /protected/.test(check.error), raw);
  }
});

Deno.test("paths: junk input is refused", async () => {
  await using dir = await tempDir();
  const { policy } = await layout(dir.path);
  for (const raw of ["", "   ", 42, null, undefined, ["a"], "sub/a.txt\0.png"]) {
    const check = checkPath(raw, "read", policy);
    assert.equal(check.ok, false, String(raw));
  }
});

Deno.test("paths: relative roots resolve against the workspace, absolute roots are kept", async () => {
  await using dir = await tempDir();
  const { ws, outside } = await layout(dir.path);
  const policy: PathPolicy = {
    workspace: ws,
    readRoots: [outside],
    writeRoots: [],
    fileWrite: false,
  };
  const secret = checkPath(join(outside, "secret.txt"), "read", policy);
  assert.ok(secret.ok);
  // The workspace itself is not a root here.
  assert.equal(checkPath("sub/a.txt", "read", policy).ok, false);
});

Deno.test("checkPath: secret files are refused at any depth unless the manifest names the exact file", async () => {
  const ws = await Deno.makeTempDir();
  try {
    for (const rel of ["deep/.env", ".env.local", "a/.env.production", "k/server.pem", "id_rsa"]) {
      await Deno.mkdir(join(ws, rel, ".."), { recursive: true });
      await Deno.writeTextFile(join(ws, rel), "secret");
    }
    await Deno.mkdir(join(ws, "home", ".ssh"), { recursive: true });
    await Deno.writeTextFile(join(ws, "home", ".ssh", "config"), "Host x");
    await Deno.writeTextFile(join(ws, "notes.txt"), "fine");
    const policy = { workspace: ws, readRoots: ["."], writeRoots: ["."], fileWrite: true };
    for (const rel of ["deep/.env", ".env.local", "a/.env.production", "k/server.pem", "id_rsa"]) {
      const read = checkPath(rel, "read", policy);
      assert.equal(read.ok, false, rel);
      assert.match(!read.ok ? read.error : "", /is a secret file/);
    }
    assert.equal(checkPath("home/.ssh/config", "read", policy).ok, false);
    assert.equal(checkPath("new/.env", "write", policy).ok, false, "no planting either");
    assert.equal(checkPath("notes.txt", "read", policy).ok, true);
    // Named exactly by the manifest: allowed.
    const named = { ...policy, readRoots: [".", "deep/.env"] };
    assert.equal(checkPath("deep/.env", "read", named).ok, true);
  } finally {
    await Deno.remove(ws, { recursive: true });
  }
});

Deno.test("checkPath: one policy checked again after links changed still refuses what leads out", async () => {
  await using dir = await tempDir();
  const { ws, outside, policy } = await layout(dir.path);
  // The roots and denied paths are resolved once for this policy...
  assert.equal(checkPath("sub/a.txt", "read", policy).ok, true);
  // ...but every checked path is resolved each time: links made since are seen.
  await Deno.symlink(join(outside, "secret.txt"), join(ws, "sub", "new_link"));
  const check = checkPath("sub/new_link", "read", policy);
  assert.equal(check.ok, false);
  await Deno.remove(join(ws, "sub", "a.txt"));
  await Deno.symlink(join(outside, "secret.txt"), join(ws, "sub", "a.txt"));
  assert.equal(checkPath("sub/a.txt", "read", policy).ok, false);
  // A denied file reached through a link made later is still denied.
  await Deno.symlink(join(ws, ".env"), join(ws, "sub", "env2"));
  assert.match(
    (checkPath("sub/env2", "read", policy) as { error: string }).error,
    /protected file/,
  );
});

Deno.test("checkPath: a denied path made after the first check, reached by its real path, is refused", async () => {
  // As the guest checks (no existence probe), as the host does (node:fs existsSync),
  // and with a probe that throws (no read permission): the answer is the same.
  const probes = {
    none: undefined,
    existsSync,
    throwing: (): boolean => {
      throw new Deno.errors.NotCapable("no read permission");
    },
  };
  for (const [name, exists] of Object.entries(probes)) {
    await using dir = await tempDir();
    const root = await Deno.realPath(dir.path);
    const ws = join(root, "ws");
    await Deno.mkdir(join(ws, "data"), { recursive: true });
    await Deno.writeTextFile(join(ws, "data", "notes.txt"), "hi");
    await Deno.symlink(join(ws, "data"), join(root, "link"));
    const policy: PathPolicy = {
      workspace: ws,
      readRoots: ["."],
      writeRoots: [],
      fileWrite: false,
      // Denied through a link, and missing at the session's first check.
      denyPaths: [join(root, "link", "token.txt")],
      exists,
    };
    assert.equal(checkPath("data/notes.txt", "read", policy).ok, true, name);
    await Deno.writeTextFile(join(ws, "data", "token.txt"), "s3cret");
    const check = checkPath("data/token.txt", "read", policy);
    assert.match((check as { error: string }).error, /protected file/, name);
  }
});
