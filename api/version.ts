/** The package version, read from deno.json so it has one source. */
import denoConfig from "../deno.json" with { type: "json" };

/**
 * The Closed Claw version, e.g. `0.1.0`.
 *
 * @example
 * ```ts
 * import { VERSION } from "../mod.ts";
 * console.log(`closed-claw ${VERSION}`);
 * ```
 */
export const VERSION: string = denoConfig.version;
