/**
 * `web`: serves the dashboard until Ctrl-C. Hono, the pages and the
 * coordinator are imported when the server starts, not for `web --help`.
 */
import { UsageError } from "../core/errors.ts";
import { loadSettings } from "../core/settings.ts";
import type { WebDeps } from "../web/deps.ts";
import type { Command } from "./command.ts";
import { bold, printLine, printWarning } from "./output.ts";

export const webCommand: Command = {
  name: "web",
  summary: "Serve the web dashboard (default http://127.0.0.1:7860).",
  details: "Prints a URL with a one-time access token; the browser keeps it in a cookie.\n" +
    "Binding to anything but loopback exposes the dashboard to your network: it warns.",
  options: {
    host: { type: "string", value: "host", description: "Address to bind (default 127.0.0.1)." },
    port: { type: "string", value: "port", description: "Port (default 7860; 0 picks one)." },
  },
  async run(ctx) {
    const hostname = (ctx.options.host as string | undefined) ?? "127.0.0.1";
    const portText = (ctx.options.port as string | undefined) ?? "7860";
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UsageError(`--port must be a number from 0 to 65535, not "${portText}".`);
    }
    const [{ startWebServer }, { coordinatorForWeb }] = await Promise.all([
      import("../web/server.ts"),
      import("../web/coordinator_adapter.ts"),
    ]);
    const store = ctx.store();
    const deps: WebDeps = {
      settings: ctx.settings(),
      store,
      coordinator: null,
      reloadSettings: () => {
        deps.settings = loadSettings();
      },
    };
    deps.coordinator = coordinatorForWeb(deps);
    const abort = new AbortController();
    const server = startWebServer(deps, { hostname, port, signal: abort.signal });
    if (!server.loopback) {
      printWarning(
        `The dashboard is bound to ${hostname}, reachable from other machines. ` +
          "Anyone with the token can run tasks on this computer.",
      );
    }
    printLine(`${bold("Closed Claw dashboard")} at ${server.url}`);
    printLine(`Open this URL once (it carries your access token): ${server.loginUrl}`);
    printLine("Press Ctrl-C to stop.");
    const stop = () => abort.abort();
    Deno.addSignalListener("SIGINT", stop);
    try {
      await server.finished;
    } finally {
      Deno.removeSignalListener("SIGINT", stop);
    }
    return 0;
  },
};
