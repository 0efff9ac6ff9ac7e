import { ClosedClawError } from "./errors.ts";

const AGENT_ID = /^[a-z0-9][a-z0-9_-]{0,95}$/;
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Lower-case slug of `text`: letters and digits joined by single dashes. */
export function slugify(text: string, maxLength = 48): string {
  const slug = text
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, maxLength)
    .replace(/-+$/g, "");
  return slug || "agent";
}

/** `n` random lower-case hex characters. */
export function randomHex(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(n / 2)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").slice(0, n);
}

/** A new agent id: the slug of its name plus 4 hex characters, e.g. `file-reader-1a2b`. */
export function newAgentId(name: string): string {
  return `${slugify(name)}-${randomHex(4)}`;
}

/** A new run id: a random UUID as 32 lower-case hex characters, no dashes. */
export function newRunId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** True when `id` is a safe agent id (no path separators, dots or traversal). */
export function isAgentId(id: string): boolean {
  return AGENT_ID.test(id);
}

/** True when `id` is a safe run, session or approval id. */
export function isRunId(id: string): boolean {
  return RUN_ID.test(id);
}

/** Throws a clear error unless `id` is a safe agent id; returns it otherwise. */
export function assertAgentId(id: string): string {
  if (!isAgentId(id)) {
    throw new ClosedClawError(
      "invalid_agent_id",
      `"${id.slice(0, 100)}" is not a valid agent id.`,
      {
        hint:
          "Agent ids use lower-case letters, digits and dashes; list them with `closed-claw agents`.",
        exitCode: 2,
      },
    );
  }
  return id;
}

/** Throws a clear error unless `id` is a safe approval id (same shape as run ids). */
export function assertApprovalId(id: string): string {
  if (!isRunId(id)) {
    throw new ClosedClawError(
      "invalid_approval_id",
      `"${id.slice(0, 100)}" is not a valid approval id.`,
      {
        hint: "List pending approvals with GET /api/approvals or the Approvals page.",
        exitCode: 2,
      },
    );
  }
  return id;
}

/** Throws a clear error unless `id` is a safe run id; returns it otherwise. */
export function assertRunId(id: string): string {
  if (!isRunId(id)) {
    throw new ClosedClawError("invalid_run_id", `"${id.slice(0, 100)}" is not a valid run id.`, {
      hint:
        "Run ids use letters, digits, dashes and underscores; list them with `closed-claw runs`.",
      exitCode: 2,
    });
  }
  return id;
}
