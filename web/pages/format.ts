/** How the pages write money, times and durations. */

/** Dollars to four decimals: model calls often cost fractions of a cent. */
export const money = (v: number): string => `$${v.toFixed(4)}`;

/** An ISO time as `YYYY-MM-DD HH:MM:SS` (UTC), or a dash when unknown. */
export const when = (iso: string | null): string => iso ? iso.replace("T", " ").slice(0, 19) : "–";

/** Milliseconds under a second, seconds with one decimal above, a dash when unknown. */
export const ms = (v: number | null): string =>
  v === null ? "–" : v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(1)} s`;
