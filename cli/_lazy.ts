/**
 * Imports a module of the CLI when it is first needed.
 *
 * The specifier is built at run time on purpose. Deno follows every literal
 * `import("./x.ts")` when it starts, reading the whole graph behind it and
 * resolving its npm packages even when the import never runs, so `--help`
 * would still pay for what `run` and `web` need. A computed URL is read only
 * when the import runs. Callers name the module's type with
 * `typeof import("./x.ts")`, which `deno check` follows, so the modules stay
 * type-checked.
 */

/**
 * Imports the module at `url` (build it with `new URL("./x.ts", import.meta.url)`).
 *
 * @example
 * ```ts
 * const { runCommand } = await importLazily<typeof import("./run.ts")>(
 *   new URL("./run.ts", import.meta.url),
 * );
 * ```
 */
export function importLazily<T>(url: URL): Promise<T> {
  return import(url.href);
}
