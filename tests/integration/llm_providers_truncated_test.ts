/**
 * A reply whose body stops short (the server promised more bytes, then closed
 * the connection) is reported as exactly that through each real SDK, never as
 * "cannot reach the server".
 */
import assert from "node:assert/strict";
import { rejection } from "../helpers/assert.ts";
import { tempDir, testSettings } from "../helpers/temp.ts";
import { createLlmService } from "../../llm/service.ts";
import { LlmError } from "../../llm/errors.ts";

for (const name of ["LANGCHAIN_TRACING_V2", "LANGCHAIN_TRACING", "LANGSMITH_TRACING"]) {
  Deno.env.delete(name);
}

/** A server that answers every request with 200, a Content-Length of 400 and 14 bytes. */
function startCutServer(): { base: string; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      (async () => {
        const buffer = new Uint8Array(64 * 1024);
        let text = "";
        // Read the whole request (headers and the JSON body) before answering.
        while (true) {
          const n = await conn.read(buffer).catch(() => null);
          if (n === null) break;
          text += new TextDecoder().decode(buffer.subarray(0, n));
          const end = text.indexOf("\r\n\r\n");
          const length = Number(/content-length:\s*(\d+)/i.exec(text)?.[1] ?? 0);
          if (end >= 0 && text.length - end - 4 >= length) break;
        }
        await conn.write(new TextEncoder().encode(
          "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n" +
            '{"id":"cut","ch',
        )).catch(() => {});
        conn.close();
        conns.delete(conn);
      })();
    }
  })().catch(() => {});
  return {
    base: `http://127.0.0.1:${listener.addr.port}`,
    close() {
      listener.close();
      for (const c of conns) c.close();
    },
  };
}

const ask = {
  messages: [
    { role: "system" as const, content: "Be brief." },
    { role: "user" as const, content: "Hi" },
  ],
};

const CASES: [string, (base: string) => Record<string, string>][] = [
  ["openai", (base) => ({ OPENAI_API_KEY: "k", OPENAI_BASE_URL: `${base}/v1` })],
  ["claude", (base) => ({ ANTHROPIC_API_KEY: "k", ANTHROPIC_BASE_URL: base })],
  ["gemini", (base) => ({ GEMINI_API_KEY: "k", GEMINI_BASE_URL: base })],
];

for (const [provider, env] of CASES) {
  Deno.test(`llm ${provider}: a truncated reply body is reported as such`, async () => {
    await using dir = await tempDir();
    const server = startCutServer();
    try {
      const settings = testSettings(dir.path, {
        ...env(server.base),
        CLOSED_CLAW_LLM_PROVIDER: provider,
        CLOSED_CLAW_LLM_MAX_RETRIES: "0",
      });
      const error = await rejection(
        createLlmService({ settings }).complete(ask, { purpose: "test" }),
        LlmError,
      );
      assert.match(error.message, /the connection closed before the reply was complete/);
      assert.doesNotMatch(error.message, /Cannot reach/);
    } finally {
      server.close();
    }
  });
}
