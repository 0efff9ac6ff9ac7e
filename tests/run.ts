/**
 * `deno task test`: runs every test under tests/ with `deno test`, streams its
 * output, and ends with the line `N passed, N failed` (plus `, N skipped`).
 * Extra arguments are passed to `deno test` (e.g. a file or `--filter name`).
 */
const args = Deno.args.length > 0 ? Deno.args : ["tests/"];
const child = new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", "--no-prompt", ...args],
  stdout: "piped",
  stderr: "inherit",
  env: { NO_COLOR: "1" },
}).spawn();

const decoder = new TextDecoder();
let tail = "";
for await (const chunk of child.stdout) {
  await Deno.stdout.write(chunk);
  tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4096);
}
const { code } = await child.status;

// Deno's summary: "ok | 12 passed (3 steps) | 0 failed | 1 ignored (1s)".
const summary =
  /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored)?/
    .exec(tail);
const passed = Number(summary?.[1] ?? 0);
const failed = Number(summary?.[2] ?? (code === 0 ? 0 : 1));
const skipped = Number(summary?.[3] ?? 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
Deno.exit(code === 0 && failed === 0 ? 0 : 1);
