/**
 * The kinds of row in the settings table (setting_defs.ts): each constructor
 * makes one setting's definition with its parser (plain functions, not zod:
 * every command loads the settings), and P, L, E, Y and R tag a row with
 * its group (Paths, LLM, Embeddings, Policy, Runtime).
 */
export type SettingGroup = "Paths" | "LLM" | "Embeddings" | "Policy" | "Runtime";
export type SettingKind = "path" | "text" | "secret" | "select" | "number" | "bool" | "list";

export interface SettingDef<K extends string, T> {
  env: string;
  key: K;
  kind: SettingKind;
  group: SettingGroup;
  label: string;
  description: string;
  /** The default as a user would write it in `.env` ("" for empty). */
  defaultText: string;
  options?: readonly string[];
  /** Parses a raw string; returns an error text naming what is allowed. */
  parse: (raw: string) => { ok: true; value: T } | { ok: false; allowed: string };
}

export type Meta = { group: SettingGroup; label: string; description: string };

/**
 * A parser from a check: the value, or what is allowed. Plain functions,
 * not zod: every command loads the settings, and zod alone doubled the
 * start-up time of `closed-claw runs`.
 */
function parser<T>(read: (raw: string) => T | undefined, allowed: string) {
  return (raw: string) => {
    const value = read(raw);
    return value === undefined ? { ok: false as const, allowed } : { ok: true as const, value };
  };
}

export function text<K extends string>(
  env: string,
  key: K,
  def: string,
  meta: Meta,
  kind: "text" | "path" | "secret" = "text",
): SettingDef<K, string> {
  return { env, key, kind, defaultText: def, ...meta, parse: (raw) => ({ ok: true, value: raw }) };
}

export function num<K extends string>(
  env: string,
  key: K,
  def: number,
  range: { min?: number; max?: number; int?: boolean },
  meta: Meta,
): SettingDef<K, number> {
  const readNumber = (raw: string): number | undefined => {
    const text = raw.trim();
    const value = Number(text);
    if (text === "" || !Number.isFinite(value)) return undefined;
    if (range.int && !Number.isInteger(value)) return undefined;
    if (range.min !== undefined && value < range.min) return undefined;
    if (range.max !== undefined && value > range.max) return undefined;
    return value;
  };
  const kindText = range.int ? "a whole number" : "a number";
  const bounds = range.min !== undefined && range.max !== undefined
    ? ` from ${range.min} to ${range.max}`
    : range.min !== undefined
    ? ` ≥ ${range.min}`
    : "";
  return {
    env,
    key,
    kind: "number",
    defaultText: String(def),
    ...meta,
    parse: parser(readNumber, kindText + bounds),
  };
}

const TRUE = ["1", "true", "yes", "on"];
const FALSE = ["0", "false", "no", "off"];

export function bool<K extends string>(
  env: string,
  key: K,
  def: boolean,
  meta: Meta,
): SettingDef<K, boolean> {
  const readBool = (raw: string): boolean | undefined => {
    const text = raw.trim().toLowerCase();
    return TRUE.includes(text) ? true : FALSE.includes(text) ? false : undefined;
  };
  return {
    env,
    key,
    kind: "bool",
    defaultText: String(def),
    ...meta,
    parse: parser(readBool, "true or false (also 1/0, yes/no, on/off)"),
  };
}

export function select<K extends string, O extends string>(
  env: string,
  key: K,
  options: readonly O[],
  def: O,
  meta: Meta,
): SettingDef<K, O> {
  const readOption = (raw: string): O | undefined => {
    const text = raw.trim().toLowerCase();
    return options.find((o) => o === text);
  };
  return {
    env,
    key,
    kind: "select",
    options,
    defaultText: def,
    ...meta,
    parse: parser(readOption, `one of ${options.join(", ")}`),
  };
}

export function list<K extends string>(
  env: string,
  key: K,
  meta: Meta,
): SettingDef<K, string[]> {
  return {
    env,
    key,
    kind: "list",
    defaultText: "",
    ...meta,
    parse: (raw) => ({
      ok: true,
      value: raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0),
    }),
  };
}

export const P = (label: string, description: string): Meta => ({
  group: "Paths",
  label,
  description,
});
export const L = (label: string, description: string): Meta => ({
  group: "LLM",
  label,
  description,
});
export const E = (label: string, description: string): Meta => ({
  group: "Embeddings",
  label,
  description,
});
export const Y = (label: string, description: string): Meta => ({
  group: "Policy",
  label,
  description,
});
export const R = (label: string, description: string): Meta => ({
  group: "Runtime",
  label,
  description,
});
