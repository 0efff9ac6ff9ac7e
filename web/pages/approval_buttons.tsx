/** @jsxImportSource hono/jsx */
// Pages are rendered once on the server, never diffed, so React's list keys mean nothing here.
// deno-lint-ignore-file jsx-key
/**
 * Approve, Deny and (when the request offers a rule) Always buttons for a
 * pending approval, and its countdown; app.js posts the decision and
 * countdown.js counts down to the request's deadline.
 */

export function ApprovalButtons(props: { id: string; base: string; always?: string }) {
  const base = props.base;
  return (
    <span class="approval-buttons">
      <button
        type="button"
        class="button primary"
        data-action="POST"
        data-url={`${base}/api/approvals/${props.id}/decide`}
        data-body='{"approved":true}'
      >
        Approve
      </button>
      {props.always && (
        <button
          type="button"
          class="button"
          data-action="POST"
          data-url={`${base}/api/approvals/${props.id}/decide`}
          data-body='{"approved":true,"always":true}'
          title={props.always}
        >
          Always
        </button>
      )}
      <button
        type="button"
        class="button danger"
        data-action="POST"
        data-url={`${base}/api/approvals/${props.id}/decide`}
        data-body='{"approved":false}'
      >
        Deny
      </button>
    </span>
  );
}

/** "9:58 left (until 21:40:12 UTC)" for a pending request; countdown.js keeps the first part current. */
export function Countdown(props: { expiresAt: string | null }) {
  if (!props.expiresAt) return null;
  const left = Math.max(0, Math.ceil((Date.parse(props.expiresAt) - Date.now()) / 1000));
  const until = new Date(props.expiresAt).toISOString().slice(11, 19);
  return (
    <span class="deadline">
      <span class="countdown" data-deadline={props.expiresAt} title={props.expiresAt}>
        {`${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left`}
      </span>{" "}
      <span class="muted">(until {until} UTC; then it counts as a timeout)</span>
    </span>
  );
}

/** A request's sentence, the exact grant and what each answer does, as the run asked them. */
export function ApprovalDetails(props: { request: Record<string, unknown> }) {
  const r = props.request;
  const details = Array.isArray(r.details) ? r.details.map(String) : [];
  return (
    <div class="approval-question">
      <p>{String(r.summary ?? "")}</p>
      {details.length > 0 && (
        <ul class="grant">
          {details.map((line) => <li>{line}</li>)}
        </ul>
      )}
    </div>
  );
}

/** How a decided request ended: a timeout is not a person's deny. */
export function decidedText(
  a: { status: string; operator: string | null; note: string },
): string {
  if (a.status === "timed_out") return `timed out: nobody answered in time (${a.note})`;
  return `by ${a.operator ?? "–"} ${a.note}`;
}

/** The "always" answer's meaning, when the request offers one. */
export function alwaysText(request: Record<string, unknown>): string | undefined {
  if (!request.rule) return undefined;
  const answers = request.answers as Record<string, unknown> | undefined;
  return typeof answers?.always === "string" ? answers.always : "Approve now and from now on";
}
