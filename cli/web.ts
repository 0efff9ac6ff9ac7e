/**
 * `web`: serves the dashboard until Ctrl-C. Hono, the pages and the
 * coordinator are imported when the server starts, not for `web --help`.
 */
import { resolve } from "node:path";
import { ClosedClawError, UsageError } from "../core/errors.ts";
import { loadSettings } from "../core/settings.ts";
import type { WebDeps } from "../web/deps.ts";
import type { Command } from "./command.ts";
import { bold, printLine, printWarning } from "./output.ts";
import { resolveRunId } from "./resolve_id.ts";

/** A token file's content: 32 or more hex or URL-safe characters on one line. */
const TOKEN_TEXT = /^[A-Za-z0-9_-]{32,256}$/;

/**
 * The access token kept in `path`, so the dashboard's URL (and the browser's
 * cookie) survive a restart. A missing file is created with a fresh token,
 * mode 0600; an existing one must be a regular file only its owner can read.
 */
export function tokenFromFile(
  path: string,
  fresh: () => string,
): { token: string; created: boolean } {
  let info: Deno.FileInfo | null = null;
  try {
    info = Deno.lstatSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (info === null) {
    const token = fresh();
    Deno.writeTextFileSync(path, `${token}\n`, { mode: 0o600, createNew: true });
    Deno.chmodSync(path, 0o600);
    return { token, created: true };
  }
  const bad = (why: string, hint: string) =>
    new ClosedClawError("token_file_bad", `--token-file ${path} ${why}.`, { hint, exitCode: 2 });
  if (!info.isFile) throw bad("is not a regular file", "Name a file (it is created if missing).");
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    throw bad(
      "can be read by other users",
      `Run \`chmod 600 ${path}\`, or delete it to get a new token.`,
    );
  }
  const token = Deno.readTextFileSync(path).trim();
  if (!TOKEN_TEXT.test(token)) {
    throw bad(
      "does not hold a token (32 or more letters, digits, - or _)",
      "Delete it: a new token is written there on the next start.",
    );
  }
  return { token, created: false };
}

export const webCommand: Command = {
  name: "web",
  summary: "Serve the web dashboard (default http://127.0.0.1:7860).",
  details: "Prints a URL with an access token; the browser keeps it in a cookie.\n" +
    "A new token is made at each start, unless --token-file (or the CLOSED_CLAW_WEB_TOKEN_FILE\n" +
    "setting) keeps one in a file (created 0600 if missing).\n" +
    "Binding to anything but loopback exposes the dashboard to your network: it warns.",
  options: {
    host: { type: "string", value: "host", description: "Address to bind (default 127.0.0.1)." },
    port: { type: "string", value: "port", description: "Port (default 7860; 0 picks one)." },
    "token-file": {
      type: "string",
      value: "path",
      description: "Keep the access token in this file, so it survives restarts (made 0600).",
    },
    run: {
      type: "string",
      value: "run_id",
      description: "Also print the URL that opens this run (a unique prefix or `last`).",
    },
  },
  async run(ctx) {
    const hostname = (ctx.options.host as string | undefined) ?? "127.0.0.1";
    const portText = (ctx.options.port as string | undefined) ?? "7860";
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UsageError(`--port must be a number from 0 to 65535, not "${portText}".`);
    }
    // The option, else the CLOSED_CLAW_WEB_TOKEN_FILE setting (relative to where settings are read).
    const setting = ctx.settings().webTokenFileSetting;
    const tokenFile = (ctx.options["token-file"] as string | undefined) ??
      (setting ? resolve(ctx.settings().cwd, setting) : undefined);
    const kept = tokenFile === undefined ? undefined : await (async () => {
      const { newAccessToken } = await import("../web/security.ts");
      return tokenFromFile(resolve(tokenFile), newAccessToken);
    })();
    const runId = ctx.options.run === undefined
      ? undefined
      : resolveRunId(ctx.store(), ctx.options.run as string);
    const [{ startWebServer }, { coordinatorForWeb }, { CapsuleShelf }] = await Promise.all([
      import("../web/server.ts"),
      import("../web/coordinator_adapter.ts"),
      import("../capsule_runtime/capsule_shelf.ts"),
    ]);
    const store = ctx.store();
    const deps: WebDeps = {
      settings: ctx.settings(),
      store,
      coordinator: null,
      reloadSettings: () => {
        deps.settings = loadSettings();
      },
      // The dashboard lives across runs: an agent's next run may start on the capsule its last left.
      capsuleShelf: new CapsuleShelf({ max: ctx.settings().maxParallelAgents }),
    };
    deps.coordinator = coordinatorForWeb(deps);
    const abort = new AbortController();
    const server = startWebServer(deps, {
      hostname,
      port,
      signal: abort.signal,
      token: kept?.token,
    });
    if (!server.loopback) {
      printWarning(
        `The dashboard is bound to ${hostname}, reachable from other machines. ` +
          "Anyone with the token can run tasks on this computer.",
      );
    }
    printLine(`${bold("Closed Claw dashboard")} at ${server.url}`);
    printLine(`Open this URL once (it carries your access token): ${server.loginUrl}`);
    if (kept && tokenFile !== undefined) {
      printLine(
        kept.created
          ? `The token is kept in ${tokenFile} (mode 0600): this URL works after a restart too.`
          : `The token comes from ${tokenFile}: the same URL as last time.`,
      );
    }
    if (runId) {
      printLine(`Open run ${runId}: ${server.url}/runs/${runId}?token=${server.token}`);
    }
    printLine("Press Ctrl-C to stop.");
    const stop = () => abort.abort();
    Deno.addSignalListener("SIGINT", stop);
    try {
      await server.finished;
    } finally {
      deps.capsuleShelf?.close("the dashboard stopped");
      Deno.removeSignalListener("SIGINT", stop);
    }
    return 0;
  },
};
