/** `init`: creates the data folders and the database, and reconciles capsules. */
import { ensureDataDirs } from "../core/settings.ts";
import { listCapsules, syncRegistryIndex } from "../capsule_runtime/factory.ts";
import { installBuiltinAgents } from "../capsule_runtime/builtin_agents.ts";
import { createEmbedder } from "../store/embedder.ts";
import { VectorIndex } from "../store/vector_index.ts";
import { SCHEMA_VERSION } from "../store/mod.ts";
import { type Command, JSON_OPTION } from "./command.ts";
import { printJson, printLine, printWarning } from "./output.ts";
import { hereCommand } from "./invocation.ts";
import { refreshInterruptedRuns } from "../coordinator/cancel.ts";

export const initCommand: Command = {
  name: "init",
  summary: "Create the data directory and registry database; register capsules found on disk.",
  details: "Needs no API key. Safe to run again: it only adds what is missing.",
  options: { ...JSON_OPTION },
  async run(ctx) {
    const settings = ctx.settings();
    ensureDataDirs(settings);
    const store = ctx.store();
    // Capsules on disk that the database does not know (e.g. copied in) are
    // registered; known agents keep their metrics, whatever their manifest says.
    const { manifests, invalid } = listCapsules(settings.agentsDir);
    const known = new Set(store.agents.list(1_000_000).map((a) => a.agent_id));
    const added = manifests.filter((m) => !known.has(m.agent_id));
    for (const m of added) store.agents.upsertManifest(m);
    const embedder = await createEmbedder(settings, { onWarning: printWarning });
    const builtins = await installBuiltinAgents({
      agentsDir: settings.agentsDir,
      store,
      embedder,
      index: new VectorIndex(store.db, embedder.dim),
    });
    const indexed = syncRegistryIndex(settings.agentsDir);
    const interrupted = refreshInterruptedRuns(store);
    const result = {
      ok: true,
      home: settings.homeDir,
      db_path: settings.dbPath,
      schema_version: SCHEMA_VERSION,
      agents: indexed,
      registered_from_disk: added.map((m) => m.agent_id),
      builtin_agents_installed: builtins,
      invalid_capsules: invalid,
      interrupted_runs: interrupted,
    };
    if (ctx.options.json) printJson(result);
    else {
      printLine(`Initialized Closed Claw in ${settings.homeDir}`);
      printLine(`  database   ${settings.dbPath} (schema v${SCHEMA_VERSION})`);
      printLine(`  agents     ${indexed} capsule(s) in ${settings.agentsDir}`);
      if (added.length) printLine(`  registered ${added.length} capsule(s) found on disk`);
      if (builtins.length) printLine(`  installed built-in agent(s): ${builtins.join(", ")}`);
      if (interrupted.length) printLine(`  marked ${interrupted.length} run(s) as interrupted`);
      for (const name of invalid) printWarning(`skipped ${name}: its manifest.json is not valid`);
      printLine(hereCommand('Next: closed-claw doctor, then closed-claw run "your task"'));
    }
    return 0;
  },
};
