/**
 * `worker`: runs capsules for coordinators on other machines, taking launch
 * jobs from NATS JetStream; `workers`: lists the live ones. The NATS client
 * is loaded only when one of these runs.
 */
import { hostname } from "node:os";
import { resolve } from "node:path";
import { UsageError } from "../core/errors.ts";
import type { Settings } from "../core/settings.ts";
import { type Command, type CommandContext, JSON_OPTION } from "./command.ts";
import { bold, printLine, printWarning } from "./output.ts";

const NATS_OPTION = {
  nats: {
    type: "string" as const,
    value: "url",
    description: "NATS server URL(s), comma-separated (default: CLOSED_CLAW_NATS_URL).",
  },
};

/** The settings with `--nats` in place of CLOSED_CLAW_NATS_URL; a clear error when neither is set. */
export function withNats(ctx: CommandContext): Settings {
  const settings = ctx.settings();
  const flag = ctx.options.nats;
  const natsUrl = typeof flag === "string" ? flag : settings.natsUrl;
  if (!natsUrl) {
    throw new UsageError(
      "no NATS server given.",
      "Pass --nats nats://host:4222 or set CLOSED_CLAW_NATS_URL.",
    );
  }
  return { ...settings, natsUrl };
}

function positiveInt(ctx: CommandContext, name: string, fallback: number): number {
  const raw = ctx.options[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new UsageError(`--${name} must be a whole number from 1 to 256, not "${raw}".`);
  }
  return n;
}

/** A default name from the host name: one NATS subject token. */
function defaultName(): string {
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 40) || "worker";
  return `${host}-${Deno.pid}`;
}

function time(): string {
  return new Date().toISOString().slice(11, 19);
}

export const workerCommand: Command = {
  name: "worker",
  summary: "Run capsules for coordinators on other machines, taking jobs from NATS JetStream.",
  options: {
    ...NATS_OPTION,
    name: {
      type: "string",
      value: "name",
      description: "How this worker is listed (default: host name and process id).",
    },
    "workspace-root": {
      type: "string",
      value: "dir",
      multiple: true,
      description: "A folder capsules may work in; repeatable (default: the current folder).",
    },
    "max-capsules": {
      type: "string",
      value: "k",
      description: "Capsules run at the same time (default: 4).",
    },
  },
  details: [
    "Example:",
    "  closed-claw worker --nats nats://10.0.0.5:4222 --workspace-root /srv/work --max-capsules 8",
    "",
    "The worker holds no keys and no records: the coordinator decides every model call and tool call.",
    "A job whose workspace is outside every --workspace-root is refused. Ctrl-C stops the worker;",
    "its running capsules are stopped and their coordinators relaunch them elsewhere.",
    "See docs/scale-out.md.",
  ].join("\n"),
  async run(ctx) {
    const settings = withNats(ctx);
    const roots = ctx.options["workspace-root"];
    const workspaceRoots = (Array.isArray(roots) ? roots.map(String) : [settings.cwd])
      .map((root) => resolve(settings.cwd, root));
    for (const root of workspaceRoots) {
      try {
        if (!Deno.statSync(root).isDirectory) throw new Error();
      } catch {
        throw new UsageError(`--workspace-root ${root} is not a folder.`);
      }
    }
    const name = typeof ctx.options.name === "string" ? ctx.options.name : defaultName();
    const { Worker } = await import("../workers/worker.ts");
    const log = (line: string) => printLine(`${time()} ${line}`);
    const worker = await Worker.start({
      settings,
      name,
      workspaceRoots,
      maxCapsules: positiveInt(ctx, "max-capsules", 4),
      log,
    });
    const info = worker.info();
    printLine(
      `${bold(`worker ${name}`)} on ${settings.natsUrl}: sandbox ${
        info.sandbox === "bwrap" ? "bubblewrap + Deno permissions" : "Deno permissions only"
      }, up to ${info.max_capsules} capsules, roots ${workspaceRoots.join(", ")}.`,
    );
    if (info.sandbox !== "bwrap") {
      printWarning("bubblewrap does not work here: capsules get Deno's permissions only.");
    }
    printLine("Waiting for jobs. Ctrl-C stops.");
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      log("stopping: no new jobs; running capsules are stopped");
      worker.close().catch(() => {});
    };
    for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, stop);
    await worker.serve();
    await worker.close();
    return 0;
  },
};

export const workersCommand: Command = {
  name: "workers",
  summary: "List the live workers on NATS with their sandbox, load and roots.",
  options: { ...NATS_OPTION, ...JSON_OPTION },
  async run(ctx) {
    const settings = withNats(ctx);
    const { connectNats } = await import("../workers/nats_connection.ts");
    const { listWorkers } = await import("../workers/worker.ts");
    const nc = await connectNats(settings, "closed-claw workers", { firstTries: 2 });
    try {
      const workers = await listWorkers(nc);
      if (ctx.options.json === true) {
        printLine(JSON.stringify(workers, null, 2));
        return 0;
      }
      if (!workers.length) {
        printLine(
          `No worker answered on ${settings.natsUrl}. Start one with \`closed-claw worker --nats ${settings.natsUrl}\`.`,
        );
        return 0;
      }
      printLine(bold("NAME                 HOST             SANDBOX    RUNNING  ROOTS"));
      for (const w of workers) {
        printLine(
          `${w.name.padEnd(20)} ${w.host.slice(0, 16).padEnd(16)} ${w.sandbox.padEnd(10)} ${
            `${w.running}/${w.max_capsules}`.padEnd(8)
          } ${w.workspace_roots.join(", ")}`,
        );
      }
      return 0;
    } finally {
      await nc.close();
    }
  },
};
