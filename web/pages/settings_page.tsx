/** @jsxImportSource hono/jsx */
// Pages are rendered once on the server, never diffed, so React's list keys mean nothing here.
// deno-lint-ignore-file jsx-key
/** The settings editor at `/settings`: the provider's API key, then every setting by group. */
import { Hono } from "hono";
import type { WebDeps } from "../deps.ts";
import { type SettingRow, settingsPageView } from "../views/settings_view.ts";
import { renderPage } from "./layout.tsx";

/** The key is checked and saved by the API; the page never receives it back. */
function KeyForm(props: { base: string; provider: string; keyEnv: string; keySet: boolean }) {
  const base = props.base;
  return (
    <form class="stack key-form" data-json-form={`${base}/api/settings/apikey`} data-reset="1">
      <fieldset>
        <legend>API key for {props.provider}</legend>
        <p class="muted">
          The key is checked by listing the provider's models (no tokens are spent) and, if it
          works, saved as <span class="mono">{props.keyEnv}</span>{" "}
          in your user config (<span class="mono">config.env</span>
          , read in every folder). It is never shown again.
        </p>
        <label>
          New key
          <input
            name="api_key"
            type="password"
            autocomplete="off"
            spellcheck={false}
            required
            placeholder={props.keySet ? "(set)" : "(not set)"}
          />
        </label>
        <div class="actions">
          <button type="submit" class="button primary">Check and save key</button>
          <button
            type="button"
            class="button"
            data-action="POST"
            data-url={`${base}/api/health/verify`}
          >
            Check the current key
          </button>
        </div>
      </fieldset>
    </form>
  );
}

/** `data-initial` lets app.js send only the fields that changed. */
function SettingField(props: { s: SettingRow }) {
  const s = props.s;
  if (s.type === "bool") {
    const on = s.value === "true";
    return (
      <label class="switch-row" title={s.description}>
        <input
          type="checkbox"
          role="switch"
          class="switch"
          name={s.env}
          data-bool="1"
          data-initial={on ? "true" : "false"}
          checked={on}
        />
        <span>
          {s.label} <span class="mono muted">{s.env}</span>
        </span>
      </label>
    );
  }
  return (
    <label title={s.description}>
      {s.label} <span class="mono muted">{s.env}</span>
      {s.type === "select"
        ? (
          <select name={s.env} data-initial={s.value}>
            {(s.options ?? []).map((o) => <option value={o} selected={o === s.value}>{o}</option>)}
          </select>
        )
        : (
          <input
            name={s.env}
            value={s.value}
            data-initial={s.value}
            type={s.type === "secret" ? "password" : "text"}
            inputmode={s.type === "number" ? "decimal" : undefined}
            placeholder={s.type === "secret"
              ? ("is_set" in s && s.is_set ? "(set)" : "(not set)")
              : s.default}
          />
        )}
    </label>
  );
}

function SettingsForm(props: { envFile: string; groups: [string, SettingRow[]][]; base: string }) {
  return (
    <form
      class="stack"
      data-json-form={`${props.base}/api/settings`}
      data-wrap="changes"
      data-only-changed="1"
      id="settings-form"
    >
      <p class="muted">
        Saved to{" "}
        {props.envFile || "./.env"}. Values are validated; line breaks are refused. Secrets are
        never shown: type a new value to replace one.
      </p>
      {props.groups.map(([group, items]) => (
        <fieldset>
          <legend>{group}</legend>
          {items.map((s) => <SettingField s={s} />)}
        </fieldset>
      ))}
      <button type="submit" class="button primary">Save changes</button>
    </form>
  );
}

export function settingsPage(deps: WebDeps, base: string): Hono {
  const app = new Hono();
  app.get("/settings", (c) => {
    const view = settingsPageView(deps);
    return c.html(renderPage(
      base,
      "Settings",
      "/settings",
      <>
        {view.keyEnv && (
          <KeyForm base={base} provider={view.provider} keyEnv={view.keyEnv} keySet={view.keySet} />
        )}
        <SettingsForm envFile={deps.settings.envFile || ""} groups={view.groups} base={base} />
      </>,
    ));
  });
  return app;
}
