/**
 * Test helpers for scale-out: a real `nats-server` with JetStream on
 * 127.0.0.1 at a free port, and `closed-claw worker` processes started with
 * `deno task run`'s own permission flags, each in a scratch folder of its own.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { findOnPath } from "../../capsule_runtime/bwrap_probe.ts";
import { spawnCli } from "./cli.ts";
import { waitFor } from "./wait.ts";

/**
 * Where nats-server is ("" when it is not installed: CI installs it, and the tests say so when
 * it is missing). Debian puts it in /usr/sbin, which a user's PATH often lacks.
 */
export function natsServerPath(): string {
  return findOnPath("nats-server") ||
    (existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "");
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

export interface NatsServer extends AsyncDisposable {
  url: string;
  port: number;
  /** Kills the server (its JetStream store stays on disk). */
  stop(): Promise<void>;
  /** Starts it again on the same port and store. */
  restart(): Promise<void>;
}

async function listening(port: number): Promise<void> {
  await waitFor(async () => {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true;
    } catch {
      return false;
    }
  }, "nats-server to listen");
}

/** Starts nats-server with JetStream (and `config` as its config file, when given). */
export async function startNats(dir: string, config?: string): Promise<NatsServer> {
  const port = freePort();
  const store = join(dir, "jetstream");
  await Deno.mkdir(store, { recursive: true });
  const args = ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", store];
  if (config) {
    const path = join(dir, "nats.conf");
    await Deno.writeTextFile(path, config);
    args.push("-c", path);
  }
  const spawn = () =>
    new Deno.Command(natsServerPath(), { args, stdout: "null", stderr: "null" }).spawn();
  let child: Deno.ChildProcess | null = spawn();
  await listening(port);
  const stop = async () => {
    if (!child) return;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    child = null;
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop,
    async restart() {
      await stop();
      child = spawn();
      await listening(port);
    },
    [Symbol.asyncDispose]: stop,
  };
}

/** A worker process and what it printed so far. */
export interface WorkerProcess extends AsyncDisposable {
  name: string;
  child: Deno.ChildProcess;
  output: string[];
  home: string;
  /** Resolves when it prints "Waiting for jobs". */
  ready: Promise<void>;
  kill(signal?: Deno.Signal): Promise<void>;
}

/** Starts `closed-claw worker` in `dir` (its own scratch and data folder). */
export async function startWorker(
  dir: string,
  options: {
    name: string;
    url: string;
    roots: string[];
    maxCapsules?: number;
    env?: Record<string, string>;
  },
): Promise<WorkerProcess> {
  const home = join(dir, options.name);
  await Deno.mkdir(home, { recursive: true });
  const args = ["worker", "--nats", options.url, "--name", options.name];
  for (const root of options.roots) args.push("--workspace-root", root);
  if (options.maxCapsules) args.push("--max-capsules", String(options.maxCapsules));
  const child = spawnCli(args, {
    cwd: home,
    env: { CLOSED_CLAW_HOME: join(home, "data"), ...options.env },
  });
  const output: string[] = [];
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => markReady = resolve);
  const read = async (stream: ReadableStream<Uint8Array>) => {
    let pending = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      pending += text;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        output.push(line);
        if (line.includes("Waiting for jobs")) markReady();
      }
    }
  };
  const reading = Promise.all([read(child.stdout), read(child.stderr)]);
  let killed = false;
  const kill = async (signal: Deno.Signal = "SIGKILL") => {
    if (!killed) {
      killed = true;
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    }
    await child.status;
    await reading.catch(() => {});
  };
  const timeout = setTimeout(() => markReady(), 30_000);
  const started = ready.then(() => clearTimeout(timeout));
  return {
    name: options.name,
    child,
    output,
    home,
    ready: started.then(() => {
      if (!output.some((l) => l.includes("Waiting for jobs"))) {
        throw new Error(`worker ${options.name} did not start:\n${output.join("\n")}`);
      }
    }),
    kill,
    async [Symbol.asyncDispose]() {
      clearTimeout(timeout);
      await kill();
    },
  };
}
