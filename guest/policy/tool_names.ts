/**
 * The tool names, free of zod so guest code can use them; the manifest
 * module re-exports them as `TOOL_NAMES`. They come from the tool registry.
 */
export { isToolName, TOOL_NAME_LIST, type ToolName } from "../tools/registry.ts";
