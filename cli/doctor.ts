/**
 * `doctor`: checks everything Closed Claw depends on and says how to fix each
 * problem. Exit code 1 when any check fails (warnings do not fail).
 */
import { join, resolve } from "node:path";
import {
  BreakersRepo,
  openDatabase,
  quickCheck,
  SCHEMA_VERSION,
  schemaVersion,
} from "../store/mod.ts";
import { createEmbedder } from "../store/embedder.ts";
import { findOnPath, probeBubblewrap } from "../capsule_runtime/bwrap_probe.ts";
import { limitFacts, limitStatus } from "../capsule_runtime/limit_facts.ts";
import { egressProxyAvailable } from "../capsule_runtime/egress_bridge.ts";
import { PROVIDER_INFO, resolveProviderConfig } from "../llm/provider_config.ts";
import { probeProvider } from "../llm/probe.ts";
import { openBreakers } from "../llm/breaker.ts";
import { readCassette } from "../llm/cassette.ts";
import { ollamaModels } from "../llm/detect.ts";
import type { Settings } from "../core/settings.ts";
import { ClosedClawError, errorMessage } from "../core/errors.ts";
import { type Command, JSON_OPTION } from "./command.ts";
import { bold, dim, green, printJson, printLine, red, yellow } from "./output.ts";
import { hereCommand } from "./invocation.ts";
import { checkWorkers } from "./doctor_workers.ts";

export type CheckStatus = "ok" | "warn" | "fail";

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

const MIN_DENO = [2, 9];

function checkDeno(): Check {
  const [major, minor] = Deno.version.deno.split(".").map(Number);
  const ok = major > MIN_DENO[0] || (major === MIN_DENO[0] && minor >= MIN_DENO[1]);
  return {
    name: "deno",
    status: ok ? "ok" : "fail",
    detail: `Deno ${Deno.version.deno}`,
    fix: ok ? undefined : "Install Deno 2.9 or newer: npm install -g deno@2.9.6",
  };
}

function checkDataDir(s: Settings): Check {
  try {
    if (!Deno.statSync(s.homeDir).isDirectory) throw new Error("not a folder");
  } catch {
    return {
      name: "data dir",
      status: "warn",
      detail: `${s.homeDir} does not exist yet`,
      fix: "Run `closed-claw init` (runs create it too).",
    };
  }
  const probe = join(s.homeDir, `.doctor-${crypto.randomUUID().slice(0, 8)}`);
  try {
    Deno.writeTextFileSync(probe, "ok");
    Deno.removeSync(probe);
    return { name: "data dir", status: "ok", detail: `${s.homeDir} is writable` };
  } catch (error) {
    return {
      name: "data dir",
      status: "fail",
      detail: `${s.homeDir} is not writable: ${errorMessage(error)}`,
      fix: "Fix its permissions, or set CLOSED_CLAW_HOME to a writable folder.",
    };
  }
}

function checkSqlite(s: Settings): Check {
  try {
    Deno.statSync(s.dbPath);
  } catch {
    return {
      name: "sqlite",
      status: "warn",
      detail: `${s.dbPath} does not exist yet`,
      fix: "Run `closed-claw init`.",
    };
  }
  try {
    const db = openDatabase(s.dbPath, { readOnly: true });
    const version = schemaVersion(db);
    const integrity = quickCheck(db);
    db.close();
    if (integrity !== "ok") {
      return {
        name: "sqlite",
        status: "fail",
        detail: `integrity check failed: ${integrity}`,
        fix: "Restore registry.db from a backup, or move it away and run `closed-claw init`.",
      };
    }
    if (version < SCHEMA_VERSION) {
      return {
        name: "sqlite",
        status: "warn",
        detail: `schema v${version}, this build uses v${SCHEMA_VERSION}`,
        fix: "Run `closed-claw init` to migrate it.",
      };
    }
    return { name: "sqlite", status: "ok", detail: `registry.db schema v${version}, integrity ok` };
  } catch (error) {
    return {
      name: "sqlite",
      status: "fail",
      detail: errorMessage(error),
      fix: "Check the file's permissions.",
    };
  }
}

async function checkEmbedder(s: Settings): Promise<Check> {
  const warnings: string[] = [];
  try {
    const embedder = await createEmbedder(s, { onWarning: (line) => warnings.push(line) });
    if (warnings.length > 0) {
      return {
        name: "embedder",
        status: "warn",
        detail: `using ${embedder.name}: ${warnings[0]}`,
        fix:
          "Put the model files in the model cache, or set CLOSED_CLAW_ENABLE_SENTENCE_TRANSFORMERS=false.",
      };
    }
    return { name: "embedder", status: "ok", detail: `${embedder.name} (${embedder.dim} dims)` };
  } catch (error) {
    return { name: "embedder", status: "fail", detail: errorMessage(error) };
  }
}

async function checkSandbox(s: Settings): Promise<Check> {
  const bwrap = await probeBubblewrap();
  if (bwrap.works) {
    return {
      name: "os sandbox",
      status: "ok",
      detail: `layers: Deno permissions + ${
        bwrap.version || "bubblewrap"
      } (works: capsules run inside it; each terminal/python_exec program gets a sandbox of its own)`,
    };
  }
  const why = bwrap.installed
    ? `bubblewrap is installed but cannot start: ${bwrap.error}`
    : "bubblewrap is not installed";
  return {
    name: "os sandbox",
    status: "warn",
    detail: `layers: Deno permissions only; ${why}; terminal and python_exec are ${
      s.allowUnsandboxedExec
        ? "allowed unsandboxed (CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC=true)"
        : "refused"
    }`,
    fix: bwrap.installed
      ? "Allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)."
      : "Install it: sudo apt-get install bubblewrap",
  };
}

/**
 * The egress proxy: with bubblewrap (and python3 for its bridge) programs of
 * terminal/python_exec reach their agent's network_hosts through it;
 * without, exec tools keep the old rule. `bwrapPath` is "" where bubblewrap
 * does not work.
 */
export function checkEgressProxy(s: Settings, bwrapPath: string): Check {
  const proxy = egressProxyAvailable({ bwrapPath });
  if (proxy.available) {
    return {
      name: "egress proxy",
      status: "ok",
      detail:
        "available: programs of terminal/python_exec reach only their agent's network_hosts through it (HTTP CONNECT and plain HTTP; every connection logged); no other network",
    };
  }
  if (!bwrapPath) {
    return {
      name: "egress proxy",
      status: "warn",
      detail: `not available (needs bubblewrap): terminal and python_exec are ${
        s.allowUnsandboxedExec
          ? "allowed unsandboxed (CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC=true), their programs with your rights and your network"
          : "refused unless CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC=true"
      }`,
      fix: "Make bubblewrap work (see the os sandbox line).",
    };
  }
  return {
    name: "egress proxy",
    status: "warn",
    detail: `not available: ${proxy.detail}`,
    fix: "Install python3: sudo apt-get install python3",
  };
}

/** Which resource limits hold for capsules and their programs here, and which do not. */
async function checkLimits(): Promise<Check> {
  const facts = limitFacts();
  const lines = limitStatus(facts, (await probeBubblewrap()).works);
  const on = lines.filter((l) => l.active).map((l) => `${l.limit} (${l.how})`);
  const off = lines.filter((l) => !l.active).map((l) => `${l.limit}: ${l.how}`);
  const cgroup = facts.root && facts.pidsCgroupBase
    ? "pids cgroup used"
    : "cgroups not used (rlimits suffice unless the host runs as root)";
  const detail = `active: ${on.join("; ") || "none"}${
    off.length ? `; NOT enforced: ${off.join("; ")}` : ""
  }; ${cgroup}`;
  if (!off.length) return { name: "limits", status: "ok", detail };
  return {
    name: "limits",
    status: "warn",
    detail,
    fix: facts.prlimitPath
      ? "Run as an ordinary user with bubblewrap, or delegate a cgroup v2 with the pids controller."
      : "Install util-linux (prlimit): sudo apt-get install util-linux",
  };
}

/** Which workspace config files are used, and which are ignored until the user accepts them. */
function checkConfigFiles(s: Settings): Check {
  if (s.ignoredFiles.length === 0) {
    const used = s.configDir ? `accepted files are listed in ${s.configDir}` : "no config folder";
    return { name: "config files", status: "ok", detail: `nothing ignored (${used})` };
  }
  const first = s.ignoredFiles[0];
  return {
    name: "config files",
    status: "warn",
    detail: s.ignoredFiles.map((f) => `${f.path} ignored: ${f.reason}`).join("; "),
    fix:
      `Review it, then run \`closed-claw trust ${first.path}\` (an agent could have written it).`,
  };
}

function checkChromium(): Check {
  const path = findOnPath("chromium") || findOnPath("chromium-browser") ||
    findOnPath("google-chrome");
  return path
    ? { name: "chromium", status: "ok", detail: `${path} (for the dashboard's browser tests)` }
    : {
      name: "chromium",
      status: "warn",
      detail: "not found; only the dashboard's browser tests need it",
      fix: "Install it: sudo apt-get install chromium",
    };
}

/** The replay provider needs no key, but its cassette must be there and readable. */
function checkCassette(s: Settings): Check {
  const name = "llm provider";
  if (!s.replayCassette) {
    return {
      name,
      status: "fail",
      detail: "replay: CLOSED_CLAW_REPLAY_CASSETTE is not set",
      fix: "Set it to a cassette recorded by an earlier run (`closed-claw run --record`).",
    };
  }
  const path = resolve(s.cwd, s.replayCassette);
  try {
    const calls = readCassette(path).length;
    return { name, status: "ok", detail: `replay: ${calls} recorded calls in ${path}` };
  } catch (error) {
    const known = error instanceof ClosedClawError;
    return {
      name,
      status: "fail",
      detail: `replay: ${known ? error.message : errorMessage(error)}`,
      fix: known ? error.hint : undefined,
    };
  }
}

/**
 * Runs `fn` with the breakers table of registry.db, or returns `fallback`
 * when there is no database (doctor never creates one) or it cannot be read.
 */
function withBreakers<T>(s: Settings, fallback: T, fn: (repo: BreakersRepo) => T): T {
  try {
    Deno.statSync(s.dbPath);
  } catch {
    return fallback;
  }
  let db: ReturnType<typeof openDatabase> | undefined;
  try {
    db = openDatabase(s.dbPath, { busyTimeoutMs: 2000 });
    return fn(new BreakersRepo(db));
  } catch {
    return fallback;
  } finally {
    db?.close();
  }
}

/**
 * One line per open circuit breaker (none when all are closed): its endpoint,
 * its last error and when it lets a call through.
 */
export function checkBreakers(s: Settings, now: number = Date.now()): Check[] {
  const rows = withBreakers(s, [], (repo) => repo.listOpen());
  const open = openBreakers(rows, s.circuitBreakerResetSec, now);
  return open.map((b) => ({
    name: "breaker",
    status: "warn",
    detail: `${b.label}: ${
      b.state === "open" ? "open" : "half-open"
    } after ${b.failures} consecutive failures (last: ${b.lastError || "unknown"}); ${
      b.state === "open"
        ? `resets at ${b.resetsAt} (in ${b.resetsInSec} s)`
        : `the next call is a trial (since ${b.resetsAt})`
    }`,
    fix:
      "Wait for the reset, or fix the endpoint and run `closed-claw doctor` with it configured: a successful key probe clears its breaker.",
  }));
}

async function checkProvider(s: Settings): Promise<Check> {
  const config = resolveProviderConfig(s);
  if (config.provider === "replay") return checkCassette(s);
  const info = PROVIDER_INFO[config.provider];
  const where = `${config.provider} / ${config.model}${
    config.baseUrl ? ` at ${config.baseUrl}` : ""
  }`;
  if (info.keyRequired && !config.apiKey) {
    const local = await ollamaModels();
    if (local) {
      return {
        name: "llm provider",
        status: "warn",
        detail: `${where}: no key (${info.keyEnv} is not set); runs use the local Ollama server`,
        fix: `Set ${info.keyEnv} in .env or run \`closed-claw setup\` to use ${config.provider}.`,
      };
    }
    return {
      name: "llm provider",
      status: "fail",
      detail: `${where}: no key (${info.keyEnv} is not set)`,
      fix:
        `Set ${info.keyEnv} in .env, run \`closed-claw setup\`, use CLOSED_CLAW_LLM_PROVIDER=ollama, or try \`deno task demo\`.`,
    };
  }
  const key = config.apiKey
    ? `key set (${config.apiKey.length} chars, from ${config.keySource})`
    : "no key needed";
  // Lists the provider's models with the key: proves it works without spending tokens;
  // when it does, the breakers of that base URL are cleared.
  const probe = await probeProvider(config, {
    breakers: { clear: (keys, prefixes) => withBreakers(s, 0, (r) => r.clear(keys, prefixes)) },
  });
  return probe.status === "ok"
    ? { name: "llm provider", status: "ok", detail: `${where}: ${key}; ${probe.detail}` }
    : { name: "llm provider", status: "fail", detail: `${where}: ${probe.detail}`, fix: probe.fix };
}

/**
 * Runs every check. `dev` adds what only the project's own tests need
 * (chromium, for the dashboard's browser tests), which users never see.
 */
export async function runChecks(
  settings: Settings,
  options: { dev?: boolean } = {},
): Promise<Check[]> {
  return [
    checkDeno(),
    checkDataDir(settings),
    checkSqlite(settings),
    await checkEmbedder(settings),
    await checkSandbox(settings),
    await probeBubblewrap().then((b) => checkEgressProxy(settings, b.works ? b.path : "")),
    await checkLimits(),
    checkConfigFiles(settings),
    ...(options.dev ? [checkChromium()] : []),
    await checkProvider(settings),
    ...[await checkWorkers(settings)].filter((c): c is Check => c !== null),
    // After the key probe, which clears the breakers of an endpoint that answers.
    ...checkBreakers(settings),
  ];
}

const MARK: Record<CheckStatus, (t: string) => string> = {
  ok: (t) => green(t),
  warn: (t) => yellow(t),
  fail: (t) => red(t),
};

export const doctorCommand: Command = {
  name: "doctor",
  summary: "Check Deno, the data dir, SQLite, embeddings, the sandbox and provider keys.",
  options: {
    dev: {
      type: "boolean",
      description: "Also check what the project's own tests need (chromium for browser tests).",
    },
    ...JSON_OPTION,
  },
  async run(ctx) {
    const settings = ctx.settings();
    const checks = await runChecks(settings, { dev: ctx.options.dev === true });
    const failed = checks.some((c) => c.status === "fail");
    if (ctx.options.json) {
      const config = resolveProviderConfig(settings);
      printJson({
        db_path: settings.dbPath,
        agents_dir: settings.agentsDir,
        run_logs_dir: settings.runLogsDir,
        llm_provider: config.provider,
        llm_model: config.model,
        llm_key_env: PROVIDER_INFO[config.provider].keyEnv,
        llm_key_configured: config.apiKey !== "",
        llm_key_preview: config.apiKey ? `set(${config.apiKey.length} chars)` : "not set",
        llm_key_probe_ok: checks.find((c) => c.name === "llm provider")?.status === "ok",
        llm_key_probe_detail: checks.find((c) => c.name === "llm provider")?.detail ?? "",
        ok: !failed,
        checks,
      });
      return failed ? 1 : 0;
    }
    printLine(bold("Closed Claw doctor"));
    for (const c of checks) {
      printLine(
        `  ${MARK[c.status](c.status.toUpperCase().padEnd(4))}  ${c.name.padEnd(13)} ${c.detail}`,
      );
      if (c.fix && c.status !== "ok") printLine(`        ${dim("fix:")} ${hereCommand(c.fix)}`);
    }
    printLine();
    printLine(failed ? red("Some checks failed; see the fixes above.") : green("Ready."));
    return failed ? 1 : 0;
  },
};
