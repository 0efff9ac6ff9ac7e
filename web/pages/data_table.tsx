/** @jsxImportSource hono/jsx */
// Pages are rendered once on the server, never diffed, so React's list keys mean nothing here.
// deno-lint-ignore-file jsx-key
/** The one table component: every list of rows on the pages goes through it. */
import type { Child } from "hono/jsx";
import { Empty } from "./ui.tsx";

/** A column: its header, its cell for a row, and an optional class for the cell. */
export interface Column<T> {
  header: string;
  cell: (row: T) => Child;
  class?: string;
}

/**
 * A scrollable table of `rows`. With `empty`, no rows render that note
 * instead of an empty table.
 */
export function DataTable<T>(props: { columns: Column<T>[]; rows: T[]; empty?: Child }) {
  if (props.rows.length === 0 && props.empty !== undefined) return <Empty>{props.empty}</Empty>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            {props.columns.map((col) => <th>{col.header}</th>)}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr>
              {props.columns.map((col) => <td class={col.class}>{col.cell(row)}</td>)}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
