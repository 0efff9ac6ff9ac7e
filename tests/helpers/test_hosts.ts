/**
 * Test hosts with public-looking addresses: an HTTP server in a network
 * namespace of its own (1.2.3.4 and 1.2.3.5), routed from this machine over a
 * veth pair, so requests through the egress proxy reach a "public" host
 * while nothing leaves the machine. Needs root and `ip`.
 */
import { join } from "node:path";

export const ALLOWED_IP = "1.2.3.4";
export const OTHER_IP = "1.2.3.5";

/** Runs a shell script; throws with its stderr when it fails. */
export function sh(script: string): void {
  const out = new Deno.Command("sh", { args: ["-ec", script], stderr: "piped" }).outputSync();
  if (!out.success) throw new Error(`${script}: ${new TextDecoder().decode(out.stderr)}`);
}

/** Whether a command is on PATH. */
export function has(cmd: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`] }).outputSync().success;
  } catch {
    return false;
  }
}

function upstreamNetwork(ns: string, veth: string): void {
  sh(`ip netns add ${ns}
ip link add ${veth}h type veth peer name ${veth}n netns ${ns}
ip addr add 1.2.3.1/32 dev ${veth}h
ip link set ${veth}h up
ip route add ${ALLOWED_IP}/32 dev ${veth}h src 1.2.3.1
ip route add ${OTHER_IP}/32 dev ${veth}h src 1.2.3.1
ip netns exec ${ns} ip link set lo up
ip netns exec ${ns} ip addr add ${ALLOWED_IP}/32 dev ${veth}n
ip netns exec ${ns} ip addr add ${OTHER_IP}/32 dev ${veth}n
ip netns exec ${ns} ip link set ${veth}n up
ip netns exec ${ns} ip route add 1.2.3.1/32 dev ${veth}n
ip netns exec ${ns} ip route add default via 1.2.3.1 dev ${veth}n`);
}

async function waitForUpstream(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: ALLOWED_IP, port: 80 })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error("the upstream server did not start");
}

/** A bare repository served over git's dumb HTTP protocol at `<www>/<name>.git`. */
export function bareRepo(www: string, name: string, files: Record<string, string>): void {
  const src = join(www, "..", `${name}-src`);
  Deno.mkdirSync(src, { recursive: true });
  for (const [file, text] of Object.entries(files)) Deno.writeTextFileSync(join(src, file), text);
  sh(`cd ${src} && git init -q -b main . && git -c user.email=t@t -c user.name=t add . &&
git -c user.email=t@t -c user.name=t commit -qm init &&
git clone -q --bare ${src} ${www}/${name}.git && cd ${www}/${name}.git && git update-server-info`);
}

/**
 * A running upstream serving `www` on port 80 of both addresses; dispose to
 * remove it all. `serve` replaces the static file server with another command
 * run in the upstream's namespace (it must listen on port 80).
 */
export async function startUpstream(
  fill: (www: string) => void,
  serve?: (www: string) => string[],
): Promise<AsyncDisposable & { www: string }> {
  const ns = `cc-hosts-${Deno.pid}-${Math.floor(Math.random() * 1e4)}`;
  const veth = `cch${(Deno.pid + Math.floor(Math.random() * 1e4)) % 100000}`;
  const served = await Deno.makeTempDir({ prefix: "claw-upstream-" });
  const www = join(served, "www");
  Deno.mkdirSync(www);
  let server: Deno.ChildProcess | null = null;
  const dispose = async () => {
    try {
      server?.kill("SIGKILL");
      await server?.status;
    } catch {
      // already gone
    }
    try {
      sh(`ip link del ${veth}h 2>/dev/null || true; ip netns del ${ns}`);
    } catch {
      // already gone
    }
    await Deno.remove(served, { recursive: true }).catch(() => {});
  };
  try {
    fill(www);
    upstreamNetwork(ns, veth);
    server = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        ns,
        ...(serve?.(www) ?? ["/usr/bin/python3", "-m", "http.server", "80", "-d", www]),
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitForUpstream();
  } catch (error) {
    await dispose();
    throw error;
  }
  return { www, [Symbol.asyncDispose]: dispose };
}
