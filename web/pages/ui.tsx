/** @jsxImportSource hono/jsx */
/** The small pieces every page is built from: status badges, cards, empty notes, JSON. */
import type { Child } from "hono/jsx";

/** A status word styled by its value (`status-ok`, `status-error`, ...). */
export function Status(props: { value: string }) {
  return <span class={`status status-${props.value}`}>{props.value}</span>;
}

/** One figure in a row of cards; `id` lets the live script update it. */
export function Card(props: { label: string; value: Child; hint?: string; id?: string }) {
  return (
    <div class="card" id={props.id}>
      <div class="label">{props.label}</div>
      <div class="value">{props.value}</div>
      {props.hint && <div class="hint">{props.hint}</div>}
    </div>
  );
}

/** What a section says when it has nothing to show. */
export function Empty(props: { children: Child }) {
  return <p class="empty">{props.children}</p>;
}

/** A value as indented JSON (escaped like any text). */
export function Json(props: { value: unknown }) {
  return <pre class="json">{JSON.stringify(props.value, null, 2)}</pre>;
}

/** Why the health is not "connected": each problem with a link to the page that fixes it. */
export function HealthProblems(props: {
  base: string;
  problems: readonly { problem: string; fix: string; href: string }[];
}) {
  if (props.problems.length === 0) return null;
  return (
    <section class="health-problems" id="health-problems" role="status">
      <h2>Why the health is not connected</h2>
      <ul>
        {props.problems.map((p) => (
          <li>
            {p.problem} <a href={`${props.base}${p.href}`}>{p.fix}</a>
          </li>
        ))}
      </ul>
    </section>
  );
}
