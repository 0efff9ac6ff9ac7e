/**
 * The interactive menu (`closed-claw` with no command): sixteen numbered
 * entries (the last is Exit), chosen with the arrow keys or a number in a
 * terminal, or read line by line from piped input. Each entry asks for its
 * answers and then runs the same command the CLI would, so the menu adds no
 * behaviour of its own. Questions for a run or agent id list the recent
 * ones to pick by number (`pickId`).
 */
import { APPROVAL_MODES, loadSettings, PROVIDERS } from "../core/settings.ts";
import { parseContextJson } from "./context_json.ts";
import type { ClosedClawError } from "../core/errors.ts";
import { parseProviderName } from "../llm/provider_config.ts";
import { openStore } from "../store/mod.ts";
import { ask, confirm, readKey } from "./prompt.ts";
import { age, bold, clip, cyan, dim, printLine } from "./output.ts";
import { type IdCandidate, recentAgents, recentRuns } from "./resolve_id.ts";

/** Runs one CLI command line; resolves to its exit code. */
export type Dispatch = (argv: string[]) => Promise<number>;

interface MenuEntry {
  label: string;
  /** Asks the entry's questions; the argv to run, or null when input ended or was cancelled. */
  argv(): Promise<string[] | null>;
}

/** Asks an optional question: "" (Enter) means "use the default". */
async function optional(question: string): Promise<string | null> {
  return await ask(question);
}

/** Appends `--flag value` when value is non-empty. */
function flag(argv: string[], name: string, value: string): string[] {
  return value ? [...argv, name, value] : argv;
}

/** The newest runs or most recently used agents (none when there is no registry yet). */
function recent(kind: "run" | "agent"): IdCandidate[] {
  try {
    const settings = loadSettings();
    Deno.statSync(settings.dbPath);
    const store = openStore(settings.dbPath);
    try {
      return kind === "run" ? recentRuns(store, 9) : recentAgents(store, 9);
    } finally {
      store.close();
    }
  } catch {
    return [];
  }
}

/**
 * Asks for a run or agent id, offering the recent ones as a numbered list:
 * a number picks from it; anything else (a full id, a prefix, `last`) goes
 * to the command as typed. "" means back to the menu; null, input ended.
 */
export async function pickId(kind: "run" | "agent", question: string): Promise<string | null> {
  const items = recent(kind);
  if (items.length) {
    printLine(dim(`Recent ${kind}s (type a number, an id or its first characters, or last):`));
    items.forEach((item, i) =>
      printLine(`  ${i + 1}  ${item.id}  ${dim(age(item.at))}  ${clip(item.label, 60)}`)
    );
  }
  const answer = await ask(question);
  if (answer === null) return null;
  const text = answer.trim();
  const n = Number(text);
  if (text && Number.isInteger(n) && n >= 1 && n <= items.length) return items[n - 1].id;
  return text;
}

/**
 * Asks until the answer passes `check` (which returns an error sentence, or
 * null when the answer is fine); Enter keeps the default. Each answer is
 * checked as it is typed, so a mistake never costs the answers before it.
 */
async function askChecked(
  question: string,
  check: (answer: string) => string | null,
): Promise<string | null> {
  while (true) {
    const answer = await ask(question);
    if (answer === null) return null;
    const text = answer.trim();
    const problem = text ? check(text) : null;
    if (!problem) return text;
    printLine(`${problem} Try again, or press Enter to skip.`);
  }
}

async function askMode(label: string): Promise<string | null> {
  const modes = APPROVAL_MODES.join("/");
  const answer = await askChecked(
    `${label} approval mode (${modes}, Enter = setting): `,
    (text) => {
      const index = Number(text);
      if (Number.isInteger(index) && index >= 1 && index <= APPROVAL_MODES.length) return null;
      return (APPROVAL_MODES as readonly string[]).includes(text)
        ? null
        : `"${text}" is not one of ${APPROVAL_MODES.join(", ")}.`;
    },
  );
  if (answer === null) return null;
  const index = Number(answer);
  if (answer && Number.isInteger(index)) return APPROVAL_MODES[index - 1];
  return answer;
}

/** The context answer: a JSON object or a readable file; the error says why not. */
function contextProblem(text: string): string | null {
  try {
    parseContextJson(text, Deno.cwd());
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Run task: the task, then the advanced options only when asked for. */
async function runTaskArgv(): Promise<string[] | null> {
  const task = await ask("Task: ");
  if (task === null) return null;
  if (!task.trim()) {
    printLine("A task is needed; back to the menu.");
    return [];
  }
  const more = await ask("Advanced options (session, context, approvals, model)? [y/N]: ");
  if (more === null) return null;
  if (!/^y(es)?$/i.test(more.trim())) return ["run", task];
  const session = await optional("Session id (Enter for a new one): ");
  if (session === null) return null;
  const context = await askChecked("Context JSON or file (Enter for none): ", contextProblem);
  if (context === null) return null;
  const create = await askMode("Create/reuse");
  if (create === null) return null;
  const api = await askMode("Paid-API");
  if (api === null) return null;
  const provider = await askChecked(
    `LLM provider (${PROVIDERS.join("/")}, Enter = setting): `,
    (text) => {
      try {
        parseProviderName(text);
        return null;
      } catch (error) {
        return (error as ClosedClawError).toLine();
      }
    },
  );
  if (provider === null) return null;
  const model = await optional("LLM model (Enter = provider default): ");
  if (model === null) return null;
  let argv = ["run", task];
  argv = flag(argv, "--session-id", session);
  argv = flag(argv, "--context-json", context);
  argv = flag(argv, "--create-approval-mode", create);
  argv = flag(argv, "--api-approval-mode", api);
  argv = flag(argv, "--llm-provider", provider && parseProviderName(provider));
  return flag(argv, "--llm-model", model);
}

/** The menu entries in their fixed order: the numbers users type stay stable; Exit follows. */
export const MENU: MenuEntry[] = [
  { label: "Setup", argv: () => Promise.resolve(["setup"]) },
  { label: "Init", argv: () => Promise.resolve(["init"]) },
  { label: "Doctor", argv: () => Promise.resolve(["doctor"]) },
  { label: "Run task", argv: runTaskArgv },
  {
    label: "List agents",
    argv: async () => {
      const limit = await ask("How many (Enter = 20): ");
      return limit === null ? null : flag(["agents"], "--limit", limit);
    },
  },
  {
    label: "Agent details",
    argv: async () => {
      const id = await pickId("agent", "Agent id: ");
      return id === null ? null : id ? ["agent", id] : [];
    },
  },
  { label: "List runs", argv: () => Promise.resolve(["runs"]) },
  { label: "Audit log", argv: () => Promise.resolve(["audit"]) },
  {
    label: "Run log",
    argv: async () => {
      const id = await pickId("run", "Run id: ");
      if (id === null) return null;
      if (!id) return [];
      const tail = await ask("Last how many events (Enter = 100): ");
      return tail === null ? null : flag(["runlog", id], "--tail", tail);
    },
  },
  {
    label: "Tools",
    argv: async () => {
      const id = await pickId("agent", "Agent id (Enter for all tools): ");
      return id === null ? null : flag(["tools"], "--agent-id", id);
    },
  },
  {
    label: "Delete agent",
    argv: async () => {
      const id = await pickId("agent", "Agent id to delete: ");
      if (id === null) return null;
      if (!id) return [];
      const sure = await confirm(`Type 'yes' to delete agent '${id}': `);
      return sure ? ["delete-agent", id, "--yes"] : (printLine("Kept."), []);
    },
  },
  {
    label: "Delete all agents",
    argv: async () => {
      const sure = await confirm("Type 'DELETE ALL' to delete every agent: ", "DELETE ALL");
      return sure ? ["delete-all-agents", "--yes"] : (printLine("Kept."), []);
    },
  },
  {
    label: "Stop a run",
    argv: async () => {
      const id = await pickId("run", "Run id to stop: ");
      return id === null ? null : id ? ["cancel-run", id] : [];
    },
  },
  { label: "Web dashboard", argv: () => Promise.resolve(["web"]) },
  {
    label: "Resume a run",
    argv: async () => {
      const id = await pickId("run", "Run id to resume: ");
      return id === null ? null : id ? ["resume", id] : [];
    },
  },
];

const EXIT = MENU.length + 1;

function menuLines(selected: number | null): string[] {
  const labels = [...MENU.map((e) => e.label), "Exit"];
  return labels.map((label, i) => {
    const number = String(i + 1).padStart(2);
    const line = `${number}  ${label}`;
    return i === selected ? cyan(`> ${bold(line)}`) : `  ${line}`;
  });
}

/** Picks an entry by number or by (a prefix of) its label; null when it matches none. */
export function parseChoice(answer: string): number | null {
  const text = answer.trim().toLowerCase();
  if (!text) return null;
  const n = Number(text);
  if (Number.isInteger(n)) return n >= 1 && n <= EXIT ? n : null;
  const labels = [...MENU.map((e) => e.label.toLowerCase()), "exit", "quit"];
  const found = labels.findIndex((label) => label === text || label.startsWith(text));
  if (found < 0) return null;
  return Math.min(found + 1, EXIT);
}

const write = (text: string) => Deno.stdout.writeSync(new TextEncoder().encode(text));

/** Splits what a terminal sent into keys ("\x1b[B\x1b[B" is two presses). */
export function splitKeys(chunk: string): string[] {
  // deno-lint-ignore no-control-regex -- escape sequences are what a terminal sends
  return chunk.match(/\x1b[[O][0-9;]*[A-Za-z~]|\x1b|[\s\S]/g) ?? [];
}

type KeyAction = "up" | "down" | "enter" | "quit" | { digit: string } | null;

function keyAction(key: string): KeyAction {
  if (["\x03", "\x04", "q", "\x1b"].includes(key)) return "quit";
  if (key === "\r" || key === "\n") return "enter";
  if (key === "\x1b[A" || key === "\x1bOA" || key === "k") return "up";
  if (key === "\x1b[B" || key === "\x1bOB" || key === "j") return "down";
  return /^[0-9]$/.test(key) ? { digit: key } : null;
}

/** Arrow keys, digits and Enter in a terminal; null means exit. */
async function chooseWithKeys(start: number): Promise<number | null> {
  let selected = start;
  let digits = "";
  let lastDigitAt = 0;
  const lines =
    () => [...menuLines(selected), dim(`↑/↓ move · Enter choose · 1-${EXIT} jump · q quit`)];
  write(lines().join("\n") + "\n");
  const redraw = () => write(`\x1b[${EXIT + 1}A\x1b[J` + lines().join("\n") + "\n");
  while (true) {
    const chunk = await readKey();
    if (chunk === null) return null;
    for (const key of splitKeys(chunk)) {
      const action = keyAction(key);
      if (action === "quit") return null;
      if (action === "enter") return selected + 1;
      if (action === "up") selected = (selected + EXIT - 1) % EXIT;
      else if (action === "down") selected = (selected + 1) % EXIT;
      else if (action) {
        // Two digits typed quickly form one number (10-16).
        const now = Date.now();
        digits = now - lastDigitAt < 800 ? digits + action.digit : action.digit;
        lastDigitAt = now;
        const n = Number(digits);
        if (n >= 1 && n <= EXIT) selected = n - 1;
        else digits = action.digit;
      }
    }
    redraw();
  }
}

/** Numbered list and a typed answer (pipes, dumb terminals). */
async function chooseWithLine(): Promise<number | null> {
  printLine(menuLines(null).join("\n"));
  while (true) {
    const answer = await ask(`Choose 1-${EXIT}: `);
    if (answer === null) return null;
    const choice = parseChoice(answer);
    if (choice !== null) return choice;
    printLine(`"${answer}" is not a choice: type a number from 1 to ${EXIT} or a name.`);
  }
}

/**
 * Runs the menu until Exit, end of input or Ctrl-C; resolves to 0.
 * `dispatch` runs the chosen command (the CLI's `main`).
 */
export async function runMenu(dispatch: Dispatch): Promise<number> {
  const keys = Deno.stdin.isTerminal() && Deno.stdout.isTerminal() &&
    !Deno.env.get("TERM")?.startsWith("dumb");
  printLine(bold("Closed Claw") + dim(" — agents in capsules, you in charge."));
  // Ctrl-C while a question waits for its answer leaves the menu cleanly.
  const onInterrupt = () => {
    printLine("\nBye.");
    Deno.exit(0);
  };
  let last = 0;
  while (true) {
    printLine();
    Deno.addSignalListener("SIGINT", onInterrupt);
    let argv: string[] | null = null;
    let choice: number | null;
    try {
      choice = keys ? await chooseWithKeys(last) : await chooseWithLine();
      if (choice !== null && choice !== EXIT) {
        last = choice - 1;
        printLine(bold(MENU[choice - 1].label));
        argv = await MENU[choice - 1].argv();
        if (argv === null) choice = null;
      }
    } finally {
      Deno.removeSignalListener("SIGINT", onInterrupt);
    }
    if (choice === null || choice === EXIT) {
      printLine("Bye.");
      return 0;
    }
    // The command owns Ctrl-C while it runs (a run cancels itself on it).
    if (argv && argv.length) await dispatch(argv);
  }
}
