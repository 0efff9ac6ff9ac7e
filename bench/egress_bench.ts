/**
 * The egress proxy's cost (`deno task bench`, or `deno run -A bench/egress_bench.ts`):
 * connection set-up and throughput through the proxy (CONNECT over its Unix
 * socket) versus a direct TCP connection, and a download by `curl` inside a
 * program's sandbox (through the in-sandbox bridge) versus `curl` on the host.
 * Printed once as ratios. The upstream is a tiny server in a network namespace
 * of its own at 1.2.3.4 (a public-looking address the proxy's policy allows);
 * nothing leaves the machine. Needs root, `ip netns` and bubblewrap; else it
 * says why and does nothing.
 */
import { EgressProxy } from "../capsule_runtime/egress_proxy.ts";
import { machineFacts } from "../capsule_runtime/machine.ts";
import { egressProxyAvailable } from "../capsule_runtime/egress_bridge.ts";
import { programEnv, programSandboxArgs } from "../capsule_runtime/program_sandbox.ts";

const NS = `cc-egress-bench-${Deno.pid}`;
const VETH = `ceb${Deno.pid % 100000}`;
const IP = "1.2.3.4";
// A web port: programs reach listed hosts on 80 and 443 only (egress_policy.ts).
const PORT = 80;
const SETUPS = 200;
const BIG = 64 * 1024 * 1024;
const enc = new TextEncoder();

/** Answers `GET /<n>` with n bytes, then closes (run inside the namespace). */
const SERVER = `
const chunk = new Uint8Array(1 << 16).fill(120);
for await (const c of Deno.listen({ hostname: "0.0.0.0", port: ${PORT} })) {
  (async () => {
    const buf = new Uint8Array(4096); let head = "";
    while (!head.includes("\\r\\n\\r\\n")) { const n = await c.read(buf); if (n === null) return c.close(); head += new TextDecoder().decode(buf.subarray(0, n)); }
    let left = Number(/^GET \\/(\\d+)/.exec(head)?.[1] ?? 0);
    await c.write(new TextEncoder().encode("HTTP/1.1 200 OK\\r\\nContent-Length: " + left + "\\r\\nConnection: close\\r\\n\\r\\n"));
    while (left > 0) { const n = Math.min(left, chunk.length); let off = 0; while (off < n) off += await c.write(chunk.subarray(off, n)); left -= n; }
    c.close();
  })().catch(() => { try { c.close(); } catch { /* gone */ } });
}`;

function sh(script: string): void {
  const out = new Deno.Command("sh", { args: ["-ec", script], stderr: "piped" }).outputSync();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

/** Sends `GET /n` on `conn` (after an optional CONNECT) and reads to the end; returns bytes read. */
async function fetchOver(conn: Deno.Conn, n: number, tunnel: boolean): Promise<number> {
  if (tunnel) await conn.write(enc.encode(`CONNECT bench.test:${PORT} HTTP/1.1\r\n\r\n`));
  await conn.write(enc.encode(`GET /${n} HTTP/1.1\r\nHost: bench.test\r\n\r\n`));
  const buf = new Uint8Array(1 << 16);
  let total = 0;
  for (;;) {
    const got = await conn.read(buf);
    if (got === null) break;
    total += got;
  }
  conn.close();
  // A refusal (a 403 from the proxy) is short: it must not pass for a fast transfer.
  if (total < n) throw new Error(`GET /${n} read only ${total} bytes: the transfer was refused`);
  return total;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function measure(proxy: EgressProxy) {
  const direct = () => Deno.connect({ hostname: IP, port: PORT });
  const viaProxy = () => Deno.connect({ transport: "unix", path: proxy.socketPath });
  const setup = async (open: () => Promise<Deno.Conn>, tunnel: boolean) =>
    await timed(async () => {
      for (let i = 0; i < SETUPS; i++) await fetchOver(await open(), 16, tunnel);
    }) / SETUPS;
  await setup(direct, false); // warm up
  const setupDirect = await setup(direct, false);
  const setupProxy = await setup(viaProxy, true);
  const bigDirect = await timed(async () => fetchOver(await direct(), BIG, false));
  const bigProxy = await timed(async () => fetchOver(await viaProxy(), BIG, true));
  return { setupDirect, setupProxy, bigDirect, bigProxy };
}

/** curl downloading BIG bytes: on the host directly, and in a program's sandbox through the bridge. */
async function curlPair(proxy: EgressProxy, bwrapPath: string) {
  const facts = await machineFacts();
  const url = `http://bench.test:${PORT}/${BIG}`;
  const curl = ["curl", "-fsS", "-o", "/dev/null", "-p", url];
  const host = await timed(() =>
    new Deno.Command("curl", {
      args: ["-fsS", "-o", "/dev/null", "--resolve", `bench.test:${PORT}:${IP}`, url],
    }).output()
  );
  const args = programSandboxArgs({
    bwrapPath,
    systemPaths: facts.systemPaths,
    etcPaths: [],
    workspace: "/tmp",
    readRoots: [],
    writeRoots: [],
    hiddenDirs: [],
    readOnlyDirs: [],
    secrets: [],
    env: programEnv(),
    egressSocket: proxy.socketPath,
  }, curl);
  let ok = true;
  const sandboxed = await timed(async () => {
    ok = (await new Deno.Command(bwrapPath, { args, stderr: "inherit" }).output()).success;
  });
  return { host, sandboxed, ok };
}

const facts = await machineFacts();
const state = egressProxyAvailable(facts);
if (Deno.uid() !== 0 || !state.available) {
  console.log(`egress bench skipped: needs root and the egress proxy (${state.detail})`);
} else {
  let server: Deno.ChildProcess | null = null;
  const proxy = await EgressProxy.start({
    networkHosts: ["bench.test"],
    resolver: () => Promise.resolve([{ address: IP, family: 4 }]),
    byteLimit: 16 * BIG,
    onConnection() {},
  });
  try {
    sh(`ip netns add ${NS}
ip link add ${VETH}h type veth peer name ${VETH}n netns ${NS}
ip addr add 1.2.3.1/32 dev ${VETH}h && ip link set ${VETH}h up
ip route add ${IP}/32 dev ${VETH}h src 1.2.3.1
ip netns exec ${NS} sh -ec 'ip link set lo up; ip addr add ${IP}/32 dev ${VETH}n; ip link set ${VETH}n up; ip route add 1.2.3.1/32 dev ${VETH}n'`);
    server = new Deno.Command("ip", {
      args: ["netns", "exec", NS, Deno.execPath(), "eval", SERVER],
      stdout: "null",
    }).spawn();
    for (let i = 0; i < 200; i++) {
      try {
        (await Deno.connect({ hostname: IP, port: PORT })).close();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const m = await measure(proxy);
    const mbps = (ms: number) => (BIG / (1024 * 1024) / (ms / 1000)).toFixed(0);
    console.log(
      `connection set-up + 16-byte GET: proxy ${m.setupProxy.toFixed(2)} ms, direct ${
        m.setupDirect.toFixed(2)
      } ms: ${(m.setupProxy / m.setupDirect).toFixed(2)}× (mean over ${SETUPS})`,
    );
    console.log(
      `throughput, 64 MiB: proxy ${mbps(m.bigProxy)} MiB/s, direct ${mbps(m.bigDirect)} MiB/s: ` +
        `${(m.bigProxy / m.bigDirect).toFixed(2)}× the time`,
    );
    const c = await curlPair(proxy, facts.bwrapPath);
    console.log(
      `curl 64 MiB in a program's sandbox (bwrap + bridge + proxy) ${c.sandboxed.toFixed(0)} ms, ` +
        `on the host directly ${c.host.toFixed(0)} ms: ${(c.sandboxed / c.host).toFixed(2)}×` +
        (c.ok ? "" : " (the sandboxed curl FAILED)"),
    );
  } finally {
    try {
      server?.kill("SIGKILL");
      await server?.status;
    } catch {
      // gone
    }
    sh(`ip link del ${VETH}h 2>/dev/null || true; ip netns del ${NS} 2>/dev/null || true`);
    await proxy.close();
  }
}
