/**
 * The guest's side of the protocol: whole JSON lines out on stdout, host
 * messages in from stdin. Replies are matched to requests by id; a `cancel`
 * ends the capsule at once.
 */
import {
  type GuestMessage,
  type HostMessage,
  type LlmResultMessage,
  PROTOCOL_VERSION,
  type StartMessage,
  type ToolDecisionMessage,
} from "./protocol_types.ts";

const encoder = new TextEncoder();

type Outgoing = GuestMessage extends infer M ? M extends GuestMessage ? Omit<M, "v"> : never
  : never;

/** Writes one message as one line, all of it, before the next one. */
export function send(message: Outgoing): void {
  let bytes = encoder.encode(JSON.stringify({ v: PROTOCOL_VERSION, ...message }) + "\n");
  while (bytes.length > 0) bytes = bytes.subarray(Deno.stdout.writeSync(bytes));
}

type Waiter = (message: HostMessage) => void;

/**
 * Reads host messages and hands each reply to whoever waits for its id. A
 * capsule may serve several subtasks one after another (the host keeps it
 * for the same agent, manifest and workspace): between two, `reset` forgets
 * every request of the last one, so each `start` begins from nothing.
 */
export class HostChannel {
  private readonly waiters = new Map<string, Waiter>();
  private startWaiter: ((m: StartMessage) => void) | null = null;
  private closed = false;
  private counter = 0;

  /**
   * `onCancel` runs on `cancel`, or when stdin ends during a subtask; `onEnd`
   * when stdin ends while the guest waits for a `start` (nothing is lost).
   */
  constructor(
    private readonly onCancel: (reason: string) => void,
    private readonly onEnd: () => void = () => onCancel("host closed stdin"),
  ) {}

  /**
   * Starts reading stdin in the background. Plain `Deno.stdin.read`, not
   * `Deno.stdin.readable`: web streams are loaded on first use, which would
   * add ~5 ms to every capsule's start.
   */
  listen(): void {
    (async () => {
      const decoder = new TextDecoder();
      const chunk = new Uint8Array(64 * 1024);
      let buffer = "";
      for (;;) {
        const n = await Deno.stdin.read(chunk);
        if (n === null) break;
        buffer += decoder.decode(chunk.subarray(0, n), { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line.trim()) this.dispatch(line);
        }
      }
      this.closed = true;
      if (this.startWaiter) this.onEnd();
      else this.onCancel("host closed stdin");
    })();
  }

  private dispatch(line: string): void {
    let message: HostMessage;
    try {
      message = JSON.parse(line);
    } catch {
      send({ type: "log", level: "error", msg: "host sent a line that is not JSON" });
      return;
    }
    if (message.type === "cancel") return this.onCancel(message.reason ?? "cancelled");
    if (message.type === "start") {
      this.startWaiter?.(message);
      this.startWaiter = null;
      return;
    }
    const waiter = this.waiters.get(message.id);
    if (!waiter) return;
    this.waiters.delete(message.id);
    waiter(message);
  }

  /** Says `ready` and waits for the next `start`. */
  nextStart(): Promise<StartMessage> {
    const start = new Promise<StartMessage>((resolve) => (this.startWaiter = resolve));
    send({ type: "ready" });
    return start;
  }

  /**
   * Forgets the last subtask: no reply still awaited, ids from 1 again (the
   * host's step journal sees the same ids as in a new capsule).
   */
  reset(): void {
    this.waiters.clear();
    this.counter = 0;
  }

  nextId(prefix: string): string {
    return `${prefix}-${++this.counter}`;
  }

  /** Sends a request and waits for the reply with the same id. */
  request<T extends LlmResultMessage | ToolDecisionMessage>(
    message: Outgoing & { id: string },
  ): Promise<T> {
    if (this.closed) return Promise.reject(new Error("host is gone"));
    const reply = new Promise<T>((resolve) => {
      this.waiters.set(message.id, (m) => resolve(m as T));
    });
    send(message);
    return reply;
  }
}
