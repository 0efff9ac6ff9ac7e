/** @jsxImportSource hono/jsx */
/** The built-in skills at `/skills`, and one skill's text at `/skills/:id`. */
import { Hono } from "hono";
import { readSkill } from "../../capsule_runtime/skills.ts";
import type { WebDeps } from "../deps.ts";
import { skillsView } from "../views/skills_view.ts";
import { renderPage } from "./layout.tsx";
import { Empty } from "./ui.tsx";

export function skillsPage(deps: WebDeps, base: string): Hono {
  const app = new Hono();

  app.get("/skills", (c) =>
    c.html(renderPage(
      base,
      "Skills",
      "/skills",
      <ul class="list">
        {skillsView(deps).map((s) => (
          <li>
            <a href={`${base}/skills/${s.skill_id}`}>
              <b>{s.label}</b>
            </a>{" "}
            <span class="muted">({s.skill_id}, used by {s.agent_count})</span>
            <div>{s.description}</div>
          </li>
        ))}
      </ul>,
    )));

  app.get("/skills/:id", (c) => {
    const skill = readSkill(c.req.param("id"));
    if (!skill) {
      return c.html(
        renderPage(base, "Skill not found", "/skills", <Empty>No such skill.</Empty>),
        404,
      );
    }
    return c.html(
      renderPage(base, skill.info.label, "/skills", <pre class="result">{skill.content}</pre>),
    );
  });

  return app;
}
