/** @jsxImportSource hono/jsx */
/** Approve and Deny buttons for a pending approval; app.js posts the decision. */

export function ApprovalButtons(props: { id: string; base: string }) {
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
