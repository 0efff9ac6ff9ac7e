/**
 * The `closed-claw` command (also `deno task run` / `deno task cli`).
 * See `closed-claw --help`.
 */
import { main } from "./cli/mod.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
