/** The tool catalogue and the sandboxed tool tester. */
import { Hono } from "hono";
import { z } from "zod";
import { toolSpec } from "../../tools/catalog.ts";
import type { WebDeps } from "../deps.ts";
import { HttpError, jsonBody } from "../http.ts";
import { testToolInCapsule } from "../tool_tester.ts";
import { toolsView } from "../views/tools_view.ts";

const ToolTest = z.object({ args: z.record(z.string(), z.unknown()).default({}) }).strict();

export function toolsRoutes(deps: WebDeps): Hono {
  const app = new Hono();
  app.get("/tools", (c) => c.json(toolsView()));
  app.post("/tools/:name/test", async (c) => {
    const spec = toolSpec(c.req.param("name"));
    if (!spec) throw new HttpError(404, "tool_not_found", "No such tool.");
    const body = await jsonBody(c, ToolTest);
    return c.json(await testToolInCapsule(deps.settings, spec.name, body.args));
  });
  return app;
}
