/**
 * Errors a user can cause or fix. Each carries a stable `code`, a one-line
 * message that says what is wrong, and a `hint` that says what to do next.
 * The CLI prints `message` and `hint` on one line and never a stack trace.
 */
export class ClosedClawError extends Error {
  /** Stable machine-readable code, e.g. `config_invalid`. */
  readonly code: string;
  /** What the user should do next. */
  readonly hint?: string;
  /** Process exit code when this error ends a CLI command. */
  readonly exitCode: number;

  /** `code` is stable for programs; `message` and `options.hint` are for people. */
  constructor(
    code: string,
    message: string,
    options: { hint?: string; exitCode?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "ClosedClawError";
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }

  /** The single line shown to a user. */
  toLine(): string {
    return this.hint ? `${this.message} ${this.hint}` : this.message;
  }
}

/** Bad command-line usage: exit code 2, like most Unix tools. */
export class UsageError extends ClosedClawError {
  constructor(message: string, hint?: string) {
    super("usage", message, { hint, exitCode: 2 });
    this.name = "UsageError";
  }
}

/** Turns anything thrown into a short message, without a stack trace. */
export function errorMessage(error: unknown): string {
  if (error instanceof ClosedClawError) return error.toLine();
  if (error instanceof Error) return error.message;
  return String(error);
}
