/**
 * Your own Hono app with the whole Closed Claw dashboard (pages, live
 * updates and API) under `/claw`. The dashboard keeps its own security:
 * open the printed login URL once in a browser (it sets a cookie), or send
 * `Authorization: Bearer <token>` from scripts.
 *
 *     PORT=8787 deno run -A examples/dashboard.ts
 *     curl -H "Authorization: Bearer <token>" http://127.0.0.1:8787/claw/api/health
 *
 * Data lives in `./.closed_claw` (or `CLOSED_CLAW_HOME`). Ctrl-C stops it.
 */
import { Hono } from "hono";
import { createClaw } from "../mod.ts";

const port = Number(Deno.env.get("PORT") ?? "8787");
const claw = createClaw();
const dashboard = claw.webApp({ port, basePath: "/claw" });

const site = new Hono();
site.get("/", (c) => c.text("My app. The Closed Claw dashboard is under /claw/."));
// The request goes to the dashboard unchanged: it strips its own prefix.
site.all("/claw/*", (c) => dashboard.fetch(c.req.raw));

const stop = new AbortController();
Deno.addSignalListener("SIGINT", () => stop.abort());
const server = Deno.serve(
  { hostname: "127.0.0.1", port, signal: stop.signal, onListen: () => {} },
  site.fetch,
);
console.log(`Serving http://127.0.0.1:${port}/ (Closed Claw under /claw/)`);
console.log(`Dashboard: http://127.0.0.1:${port}${dashboard.loginPath}`);
console.log(`Token: ${dashboard.token}`);
await server.finished;
await claw.close();
