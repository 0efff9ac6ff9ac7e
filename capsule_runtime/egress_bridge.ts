/**
 * The in-sandbox half of the egress proxy. A program's sandbox has a network
 * namespace of its own with nothing but `lo`; the host's proxy socket is
 * bound into it at `EGRESS_SOCKET`. Before the program starts, a tiny
 * Python bridge listens on 127.0.0.1:`EGRESS_PORT`, forks into the
 * background once it listens (so the program never races it) and copies
 * every TCP connection to the socket. Programs find it through the usual
 * proxy variables; a program that ignores them has no network at all.
 *
 * Python starts in ~15 ms with `-I -S` and can fork once it listens, which
 * gives the readiness for free (Deno has no fork and starts slower), so the
 * bridge is Python. It starts before `prlimit`: the program's limits are the
 * program's own (it is our code, not the program's).
 */
import { mayExist } from "./_fs.ts";

/** Where the proxy's socket appears inside a program's sandbox. */
export const EGRESS_SOCKET = "/run/closed-claw/egress.sock";
/** The loopback port the bridge listens on inside the sandbox. */
export const EGRESS_PORT = 3128;
/** The interpreter the bridge runs with (looked up on the programs' PATH). */
export const BRIDGE_PYTHON = "python3";

/** The bridge's source, run with `python3 -I -S -c SOURCE <socket> <port>`. */
export const BRIDGE_SOURCE = `
import os, socket, sys, threading
path, port = sys.argv[1], int(sys.argv[2])
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(128)
if os.fork():
    os._exit(0)
null = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)
def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass
def serve(conn):
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        up.connect(path)
    except OSError:
        conn.close()
        return
    back = threading.Thread(target=pump, args=(up, conn), daemon=True)
    back.start()
    pump(conn, up)
    back.join()
    conn.close()
    up.close()
while True:
    conn, _ = ls.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
`;

/** The proxy variables a program gets (upper and lower case; NO_PROXY empty, so nothing bypasses it). */
export function egressEnv(): Record<string, string> {
  const url = `http://127.0.0.1:${EGRESS_PORT}`;
  const env: Record<string, string> = {};
  for (const name of ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"]) {
    env[name] = url;
    env[name.toLowerCase()] = url;
  }
  env.NO_PROXY = "";
  env.no_proxy = "";
  return env;
}

/**
 * `argv` started after the bridge: `sh` runs the bridge (which returns once
 * it listens) and then execs the program, so exit codes and signals are the
 * program's own. Exit code 125 means the bridge could not start.
 */
export function withBridge(argv: string[]): string[] {
  const script = 'b="$1"; shift; ' +
    `${BRIDGE_PYTHON} -I -S -c "$b" ${EGRESS_SOCKET} ${EGRESS_PORT} || ` +
    '{ echo "closed-claw: the egress bridge did not start" >&2; exit 125; }; exec "$@"';
  return ["/bin/sh", "-c", script, "sh", BRIDGE_SOURCE, ...argv];
}

/** What `egressProxyAvailable` looks at (MachineFacts has both). */
export interface EgressFacts {
  /** bubblewrap's path when it works here, else "". */
  bwrapPath: string;
}

/** Where the proxy stands on this machine, for `doctor` and the agent page. */
export interface EgressProxyState {
  available: boolean;
  /** One line: why it is (not) available. */
  detail: string;
}

/**
 * Whether programs can get network through the egress proxy here: it needs
 * bubblewrap (their own network namespace) and python3 for the bridge.
 *
 * @example
 * ```ts
 * egressProxyAvailable({ bwrapPath: "" }).available; // false
 * ```
 */
export function egressProxyAvailable(facts: EgressFacts): EgressProxyState {
  if (!facts.bwrapPath) {
    return {
      available: false,
      detail:
        "bubblewrap does not work here: programs get no network, and terminal/python_exec are refused unless CLOSED_CLAW_ALLOW_UNSANDBOXED_EXEC is set",
    };
  }
  const python = ["/usr/local/bin", "/usr/bin", "/bin"].map((d) => `${d}/${BRIDGE_PYTHON}`)
    .find(isFile);
  if (!python) {
    return {
      available: false,
      detail:
        `${BRIDGE_PYTHON} is missing, so the in-sandbox bridge cannot run: programs get no network`,
    };
  }
  return {
    available: true,
    detail:
      "programs reach only their agent's network_hosts through the egress proxy (HTTP CONNECT and plain HTTP)",
  };
}

function isFile(path: string): boolean {
  if (!mayExist(path)) return false;
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
