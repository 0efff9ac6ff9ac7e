import { waitFor } from "./wait.ts";

/** Runs the real CLI (`main.ts`) in a subprocess, as a user would. */
const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** The repo's deno.json: tests run Deno from temporary folders, so the config is named explicitly. */
export const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Bytes a subprocess wrote, as text. */
export const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/**
 * The permission flags of the deno.json task `task` (`--allow-read`, …): the
 * words between `deno run` and its script, read from the task itself so tests
 * run a program exactly as users do.
 */
export function taskFlags(task: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(CONFIG)) as { tasks: Record<string, string> };
  const line = config.tasks[task] ?? "";
  const words = line.trim().split(/\s+/);
  const script = words.findIndex((w) => w.endsWith(".ts"));
  if (words[0] !== "deno" || words[1] !== "run" || script < 0) {
    throw new Error(`deno.json's "${task}" task is not "deno run <flags> <script>.ts …": ${line}`);
  }
  return words.slice(2, script);
}

/** The permission flags of `deno task run`, as the CLI's users run it. */
export const CLI_FLAGS: string[] = taskFlags("run");

/** The `deno` arguments that run the CLI with `args`, with `deno task run`'s own flags. */
export function cliArgs(args: string[]): string[] {
  return ["run", ...CLI_FLAGS, "--config", CONFIG, MAIN, ...args];
}

/**
 * A clean environment for a subprocess with `cwd` as its HOME: only PATH,
 * NO_COLOR and the Deno cache are kept from this machine, then `env`.
 */
export function childEnv(cwd: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: cwd,
    NO_COLOR: "1",
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    ...env,
  };
}

/** Starts the CLI with no stdin and piped output; the caller awaits `output()` or kills it. */
export function spawnCli(
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: cliArgs(args),
    cwd: options.cwd,
    clearEnv: true,
    env: childEnv(options.cwd, options.env),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs the CLI to its end, with `stdin` as its input, and returns its exit code and output. */
export async function runCli(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; stdin?: string },
): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: cliArgs(args),
    cwd: options.cwd,
    clearEnv: true,
    env: childEnv(options.cwd, options.env),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const out = await child.output();
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Whether util-linux `script`, which runs a command on a pseudo-terminal, is installed. */
export const HAS_SCRIPT: boolean = (() => {
  try {
    return Deno.statSync("/usr/bin/script").isFile;
  } catch {
    return false;
  }
})();

/**
 * Runs the CLI with `args` on a pseudo-terminal (util-linux `script`), as a
 * user's shell would. Once it asks "Type 'yes' to approve", `answer` gets
 * what the terminal showed so far and returns the line to type. With
 * `stderrTo`, the CLI's stderr goes to that file (where the question is then
 * looked for too). Resolves to the exit code and all the terminal showed.
 */
export async function answerOnTerminal(
  args: string[],
  options: { cwd: string; env: Record<string, string>; stderrTo?: string },
  answer: (seen: string) => string,
): Promise<{ code: number; seen: string }> {
  const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
  let command = [Deno.execPath(), ...cliArgs(args)].map(quote).join(" ");
  if (options.stderrTo) command += ` 2>${quote(options.stderrTo)}`;
  const child = new Deno.Command("script", {
    args: ["-qefc", command, "/dev/null"],
    cwd: options.cwd,
    env: { ...options.env, NO_COLOR: "1", HOME: options.cwd },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let seen = "";
  let ended = false;
  const reading = (async () => {
    for await (const chunk of child.stdout) seen += decode(chunk);
    ended = true;
  })();
  const stderr = () => {
    try {
      return options.stderrTo ? Deno.readTextFileSync(options.stderrTo) : "";
    } catch {
      return "";
    }
  };
  await waitFor(
    () => ended || (stderr() + seen).includes("Type 'yes' to approve"),
    "the approval prompt",
    60_000,
  );
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(answer(seen))).catch(() => {});
  await reading;
  await writer.close().catch(() => {});
  return { code: (await child.status).code, seen };
}

/**
 * Runs the CLI with `args` on a pseudo-terminal (util-linux `script`) and
 * holds a conversation: for each step, waits until the terminal shows
 * `expect` (counted from where the previous step's match ended), then types
 * `reply` and Enter. Resolves to the exit code and all the terminal showed.
 */
export async function talkOnTerminal(
  args: string[],
  options: { cwd: string; env: Record<string, string> },
  steps: readonly { expect: string | RegExp; reply: string }[],
): Promise<{ code: number; seen: string }> {
  const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
  const command = [Deno.execPath(), ...cliArgs(args)].map(quote).join(" ");
  const child = new Deno.Command("script", {
    args: ["-qefc", command, "/dev/null"],
    cwd: options.cwd,
    clearEnv: true,
    env: { ...childEnv(options.cwd, options.env), NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let seen = "";
  let ended = false;
  const reading = (async () => {
    for await (const chunk of child.stdout) seen += decode(chunk);
    ended = true;
  })();
  const writer = child.stdin.getWriter();
  let from = 0;
  try {
    for (const step of steps) {
      let at = -1;
      await waitFor(
        () => {
          const rest = seen.slice(from);
          if (typeof step.expect === "string") {
            const i = rest.indexOf(step.expect);
            if (i >= 0) at = from + i + step.expect.length;
          } else {
            const m = step.expect.exec(rest);
            if (m) at = from + m.index + m[0].length;
          }
          return at >= 0 || ended;
        },
        `the terminal to show ${String(step.expect)}`,
        60_000,
      ).catch((error) => {
        throw new Error(`${error.message}; it showed:\n${seen}`);
      });
      if (at < 0) throw new Error(`ended before ${String(step.expect)}; it showed:\n${seen}`);
      from = at;
      await writer.write(new TextEncoder().encode(`${step.reply}\r`));
    }
    await reading;
  } finally {
    await writer.close().catch(() => {});
  }
  return { code: (await child.status).code, seen };
}
