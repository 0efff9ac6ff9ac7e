/**
 * The command that works where the user is: `deno task cli …` inside a clone
 * of Closed Claw (where `closed-claw` is usually not installed), `closed-claw …`
 * everywhere else. Hints printed by the CLI name commands as `closed-claw x`;
 * `hereCommand` rewrites them for the folder the CLI runs in.
 */
import { dirname, isAbsolute, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { COMMANDS } from "./commands.ts";

/** The clone's root when `mainModule` is its `main.ts` and that folder has a `cli` task. */
export function cloneRoot(mainModule: string = Deno.mainModule): string | null {
  if (!mainModule.startsWith("file:")) return null;
  const root = dirname(fileURLToPath(mainModule));
  try {
    const config = JSON.parse(Deno.readTextFileSync(`${root}/deno.json`)) as {
      tasks?: Record<string, string>;
    };
    return config.tasks?.cli ? root : null;
  } catch {
    return null;
  }
}

/** `deno task cli` when `cwd` is inside the clone at `root`, else `closed-claw`. */
export function invocationFor(cwd: string, root: string | null): string {
  if (!root) return "closed-claw";
  const path = relative(root, cwd);
  const inside = path === "" || (!path.startsWith("..") && !isAbsolute(path));
  return inside ? "deno task cli" : "closed-claw";
}

/** `closed-claw` followed by one of its commands (or an option), as hints write it. */
const COMMAND_MENTION = new RegExp(
  `\\bclosed-claw(?= (?:(?:${COMMANDS.map((c) => c.name).join("|")}|menu)\\b|--?[a-z]))`,
  "g",
);

let cached: string | undefined;

/** How to run the CLI from the current folder (computed once per process). */
export function cliInvocation(): string {
  if (cached !== undefined) return cached;
  let cwd = "";
  try {
    cwd = Deno.cwd();
  } catch {
    return (cached = "closed-claw");
  }
  return (cached = invocationFor(cwd, cloneRoot()));
}

/** `text` with every `closed-claw <command>` naming the command that works here. */
export function hereCommand(text: string, invocation: string = cliInvocation()): string {
  if (invocation === "closed-claw") return text;
  return text.replace(COMMAND_MENTION, invocation);
}
