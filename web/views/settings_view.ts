/** The settings editor's model: every setting with its value, secrets masked. */
import { SETTING_DEFS, settingsCatalogue } from "../../core/settings.ts";
import { PROVIDER_INFO, resolveProviderConfig } from "../../llm/provider_config.ts";
import type { WebDeps } from "../deps.ts";

const SECRET_ENVS = new Set<string>(
  SETTING_DEFS.filter((d) => d.kind === "secret").map((d) => d.env),
);

/** Settings with their current values; secrets only say whether they are set. */
export function settingsView(deps: WebDeps) {
  const values = deps.settings as unknown as Record<string, unknown>;
  return settingsCatalogue().map((info) => {
    const value = values[info.key];
    const text = Array.isArray(value) ? value.join(",") : String(value ?? "");
    return SECRET_ENVS.has(info.env)
      ? { ...info, value: "", is_set: text !== "" }
      : { ...info, value: text };
  });
}

/** One row of the settings editor. */
export type SettingRow = ReturnType<typeof settingsView>[number];

/** Settings kept only so old `.env` files stay valid: changing them changes nothing. */
export function hasNoEffect(row: { description: string }): boolean {
  return /\bhas no effect\b|\bso this has no effect\b/.test(row.description);
}

/**
 * The settings page's model: the rows grouped in catalogue order (without
 * the settings that have no effect), and the active provider with the
 * variable its key is saved as (empty when it needs none).
 */
export function settingsPageView(deps: WebDeps) {
  const groups = new Map<string, SettingRow[]>();
  for (const s of settingsView(deps)) {
    if (hasNoEffect(s)) continue;
    groups.set(s.group, [...(groups.get(s.group) ?? []), s]);
  }
  const llm = resolveProviderConfig(deps.settings);
  return {
    groups: [...groups],
    provider: llm.provider,
    keyEnv: PROVIDER_INFO[llm.provider].keyEnv,
    keySet: llm.apiKey !== "",
  };
}
