/**
 * Types shared by the guest tool implementations. Guest-safe.
 */
export type { ToolName } from "../policy/tool_names.ts";

import type { ProcessOptions, ProcessOutcome } from "./process.ts";

/** Everything a tool needs to know about where it runs and what it may touch. */
export interface ToolContext {
  /** The capsule's workspace: cwd of processes, base of relative paths. */
  workspace: string;
  /** Roots file_io may read and list (absolute, or relative to the workspace). */
  readRoots: string[];
  /** Roots file_io may write and append to. */
  writeRoots: string[];
  /** Whether file_io may write at all (manifest `permissions.file_write`). */
  fileWrite: boolean;
  /** SQLite files sql_query may open; empty means any file inside the read roots. */
  sqlPaths: string[];
  /** Hosts the network tools may reach (`*.example.com` allowed); empty = any public host. */
  networkHosts: string[];
  /** Paid-API providers: a redirect may not reach one the host did not approve. */
  paidHosts?: readonly string[];
  /** Aborts a running tool (cancel): processes are killed, requests dropped. */
  signal?: AbortSignal;
  /** Paths never readable or writable, even inside a root (e.g. `.env`, `registry.db`). */
  denyPaths?: string[];
  /** Environment for terminal/python_exec children; default: a few safe names copied from our own env. */
  env?: Record<string, string>;
  /**
   * Starts the program of terminal/python_exec. The host passes one that runs
   * it in a sandbox of its own; the default starts it directly.
   */
  runProgram?: (
    command: string,
    args: string[],
    options: ProcessOptions,
  ) => Promise<ProcessOutcome>;
  /** Optional caps overriding the defaults. */
  limits?: {
    /** Per-stream cap for process output (default 50,000 chars). */
    maxOutputChars?: number;
    /** file_io read cap in bytes (default 1 MiB). */
    maxReadBytes?: number;
    /** HTTP response body cap in bytes before decoding (default 5 MiB). */
    maxBodyBytes?: number;
    /** sql_query row cap (default 1,000). */
    maxRows?: number;
    /** sql_query deadline in milliseconds (default 30,000). */
    sqlTimeoutMs?: number;
  };
}

/** The outcome of one tool call; never thrown, always returned. */
export interface ToolResult {
  ok: boolean;
  result: Record<string, unknown>;
  /** One clear line when `ok` is false; "" otherwise. */
  error: string;
}

/** A failed result with a one-line message. */
export function failure(error: string, result: Record<string, unknown> = {}): ToolResult {
  return { ok: false, result, error: oneLine(error) };
}

/** A successful result. */
export function success(result: Record<string, unknown>): ToolResult {
  return { ok: true, result, error: "" };
}

/** Collapses a message to a single trimmed line of bounded length. */
export function oneLine(message: string, max = 500): string {
  const line = message.replace(/\s*\n\s*/g, " ").trim();
  return line.length > max ? line.slice(0, max - 1) + "…" : line;
}
