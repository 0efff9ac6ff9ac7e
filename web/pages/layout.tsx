/** @jsxImportSource hono/jsx */
/** The page frame: navigation, theme toggle, approvals badge and live status. */
import type { Child } from "hono/jsx";

const NAV: [string, string][] = [
  ["/", "Overview"],
  ["/runs", "Runs"],
  ["/agents", "Agents"],
  ["/approvals", "Approvals"],
  ["/audit", "Audit"],
  ["/tools", "Tools"],
  ["/mcp-servers", "MCP"],
  ["/skills", "Skills"],
  ["/settings", "Settings"],
  ["/system", "System"],
];

/**
 * The frame of every page. `path` is the page's section (routed at `/`);
 * `base` is the prefix the browser sees, also handed to app.js in `data-base`.
 */
export function Layout(props: { title: string; path: string; base: string; children: Child }) {
  const base = props.base;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · Closed Claw</title>
        <link rel="stylesheet" href={`${base}/static/app.css`} />
        <script src={`${base}/static/app.js`} defer></script>
        <script src={`${base}/static/countdown.js`} defer></script>
      </head>
      <body data-base={base}>
        <header class="top">
          <a class="brand" href={`${base}/`}>Closed Claw</a>
          <nav>
            {NAV.map(([href, label]) => (
              <a
                href={base + href}
                class={href === props.path || (href !== "/" && props.path.startsWith(href))
                  ? "active"
                  : ""}
              >
                {label}
              </a>
            ))}
          </nav>
          <span class="spacer"></span>
          <a href={`${base}/approvals`} class="pill" id="approvals-badge" data-count="0">
            Approvals <b id="approvals-count">0</b>
          </a>
          <span class="pill" id="live-pill" title="Live updates">offline</span>
          <a href={`${base}/runs/new`} class="button primary">New run</a>
          <button type="button" class="button" id="theme-toggle" title="Switch theme">
            ◐<span class="wide-only theme-label">Theme</span>
          </button>
        </header>
        <main>
          <h1>{props.title}</h1>
          <div id="flash" role="status"></div>
          {props.children}
        </main>
      </body>
    </html>
  );
}

/**
 * A whole HTML document: `body` inside the frame, behind the doctype. Every
 * value goes through hono/jsx, which escapes text and attributes; data for
 * scripts travels in data-* attributes, never in inline script (the CSP
 * forbids inline script anyway).
 */
export function renderPage(base: string, title: string, path: string, body: Child): string {
  return "<!doctype html>" +
    (<Layout title={title} path={path} base={base}>{body}</Layout>).toString();
}
