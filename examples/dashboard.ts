/**
 * Your own Hono app with the Closed Claw dashboard mounted under `/claw`.
 * The dashboard keeps its own security: every request needs the printed
 * token (`Authorization: Bearer <token>`, or `?token=` once in a browser).
 *
 *     PORT=8787 deno run -A examples/dashboard.ts
 *     curl -H "Authorization: Bearer <token>" http://127.0.0.1:8787/claw/api/health
 *
 * Data lives in `./.closed_claw` (or `CLOSED_CLAW_HOME`). Ctrl-C stops it.
 */
import { Hono } from "hono";
import { mount } from "hono/mount";
import { createClaw } from "../mod.ts";

const port = Number(Deno.env.get("PORT") ?? "8787");
const claw = createClaw();
const dashboard = claw.webApp({ port });

const site = new Hono();
site.get("/", (c) => c.text("My app. The Closed Claw API is under /claw/api/."));
site.all("/claw/*", mount(dashboard.fetch));

const stop = new AbortController();
Deno.addSignalListener("SIGINT", () => stop.abort());
const server = Deno.serve(
  { hostname: "127.0.0.1", port, signal: stop.signal, onListen: () => {} },
  site.fetch,
);
console.log(`Serving http://127.0.0.1:${port}/ (Closed Claw under /claw/)`);
console.log(`Token: ${dashboard.token}`);
await server.finished;
await claw.close();
