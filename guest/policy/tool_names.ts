/**
 * The six tool names. They live here, free of zod, so guest code can use them;
 * the manifest module re-exports them as `TOOL_NAMES`.
 */
export const TOOL_NAME_LIST = [
  "terminal",
  "http_api",
  "web_fetch",
  "file_io",
  "python_exec",
  "sql_query",
] as const;

/** One of the six tool names. */
export type ToolName = typeof TOOL_NAME_LIST[number];

/** Whether `name` is one of the six tool names. */
export function isToolName(name: unknown): name is ToolName {
  return typeof name === "string" && (TOOL_NAME_LIST as readonly string[]).includes(name);
}
