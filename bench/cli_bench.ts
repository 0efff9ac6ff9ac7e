/**
 * CLI start-up (`deno task bench`, or `deno run -A bench/cli_bench.ts`): how
 * much slower `closed-claw --version`, `--help` and `runs` start than an empty
 * `deno run` of `console.log(1)`, with the same flags, in a fresh folder.
 * Printed once as ratios of medians over RUNS runs each (target: ≤ 4×), not
 * as timed benches: a process start is the thing measured.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONFIG, taskFlags } from "../tests/helpers/cli.ts";

const RUNS = 10;
/** The permission flags of `deno task cli`. */
const FLAGS = taskFlags("cli");
const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

/** Milliseconds one `deno run` of `args` takes, start to exit; throws when it fails. */
async function timeOnce(cwd: string, args: string[]): Promise<number> {
  const start = performance.now();
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...FLAGS, ...args],
    cwd,
    env: { CLOSED_CLAW_HOME: join(cwd, ".closed_claw"), NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - start;
  if (code !== 0) {
    throw new Error(`deno run ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
  }
  return ms;
}

/** The median of RUNS timed runs, after one to warm Deno's caches. */
async function medianMs(cwd: string, args: string[]): Promise<number> {
  await timeOnce(cwd, args);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await timeOnce(cwd, args));
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const cwd = await Deno.makeTempDir({ prefix: "claw-cli-bench-" });
try {
  const empty = join(cwd, "empty.ts");
  await Deno.writeTextFile(empty, "console.log(1);\n");
  const base = await medianMs(cwd, [empty]);
  console.log(`empty deno run: median ${base.toFixed(0)} ms over ${RUNS} runs`);
  for (const command of [["--version"], ["--help"], ["runs"]]) {
    const ms = await medianMs(cwd, ["--config", CONFIG, MAIN, ...command]);
    console.log(
      `CLI ${command.join(" ")} ÷ empty deno run: ${(ms / base).toFixed(1)}× ` +
        `(median ${ms.toFixed(0)} ms; target ≤ 4×)`,
    );
  }
} finally {
  await Deno.remove(cwd, { recursive: true });
}
