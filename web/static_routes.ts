/** Serves the dashboard's own CSS and script from web/static (no CDN, no build step). */
import { Hono } from "hono";

const FILES: Record<string, string> = {
  "app.css": "text/css; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "countdown.js": "text/javascript; charset=utf-8",
};

const cache = new Map<string, string>();

function load(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = Deno.readTextFileSync(new URL(`./static/${name}`, import.meta.url));
    cache.set(name, text);
  }
  return text;
}

export function staticRoutes(): Hono {
  const app = new Hono();
  app.get("/:name", (c) => {
    const name = c.req.param("name");
    const type = FILES[name];
    if (!type) return c.text("Not found", 404);
    return c.body(load(name), 200, { "Content-Type": type, "Cache-Control": "no-cache" });
  });
  return app;
}
