/**
 * What Deno's network flags hold for a capsule with a network tool: the
 * manifest's hosts and the public addresses they resolved to at launch, and
 * every private range denied whatever a name resolves to.
 */
import { blockedReason, formatIp, normalizeHost, parseIp } from "../guest/policy/ssrf.ts";

const list = (entries: Iterable<string>) => [...new Set(entries)].join(",");

/**
 * Addresses no capsule may reach, whatever its manifest says. Deno 2.9 accepts
 * IPv4 CIDR ranges but no IPv6 range (`[fc00::]/7` makes `deno run` fail to
 * start), so private IPv6 ranges are left to the tools' SSRF guard.
 */
export const DENIED_NETWORKS = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "224.0.0.0/4",
  "240.0.0.0/4",
  "[::1]",
  "[::]",
  "localhost",
  "metadata.google.internal",
];

/** A host name or `*.` pattern Deno accepts in `--allow-net` (no scheme, port, path or comma). */
const HOST_PATTERN =
  /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/** `--allow-net` entry for a public IP address, or `null` for an address no capsule may reach. */
function publicAddressEntry(text: string): string | null {
  const ip = parseIp(text);
  if (!ip || blockedReason(ip)) return null;
  return ip.family === 6 ? `[${formatIp(ip)}]` : formatIp(ip);
}

/**
 * What Deno's `--allow-net` holds for a manifest's `network_hosts`: each name
 * (Deno checks the DNS lookup against it) and each public address it resolved
 * to (Deno checks the connection against the IP the tools dial). `entries` is
 * `null` when Deno cannot enforce the list: it is empty (any public host), or
 * a `*.` pattern whose addresses cannot be known at launch.
 *
 * @example
 * ```ts
 * networkAllowList(["api.example.com"], ["203.0.113.7"]).entries;
 * // ["api.example.com", "203.0.113.7"]
 * ```
 */
export function networkAllowList(
  hosts: readonly string[],
  addresses: readonly string[],
): { entries: string[] | null; warnings: string[] } {
  if (hosts.length === 0) return { entries: null, warnings: [] };
  const warnings: string[] = [];
  const wildcards = hosts.filter((h) => h.trim().startsWith("*."));
  if (wildcards.length) {
    warnings.push(
      `network_hosts has the pattern ${
        wildcards.join(", ")
      }: its addresses cannot be pinned at launch, so only the host's policy check (not Deno) limits this capsule to its hosts; list exact host names to have Deno enforce them`,
    );
    return { entries: null, warnings };
  }
  const entries = new Set<string>();
  for (const raw of hosts) {
    const host = normalizeHost(raw.trim());
    if (parseIp(host)) {
      const entry = publicAddressEntry(host);
      if (entry) entries.add(entry);
      else warnings.push(`network_hosts entry '${raw}' is not a public address; it stays blocked`);
    } else if (HOST_PATTERN.test(host)) entries.add(host);
    else warnings.push(`network_hosts entry '${raw}' is not a host name; it is ignored`);
  }
  for (const address of addresses) {
    const entry = publicAddressEntry(address);
    if (entry) entries.add(entry);
  }
  return { entries: [...entries], warnings };
}

/** Deno's --allow-net, --deny-net and --allow-sys for a capsule with a network tool. */
export function networkFlags(
  hosts: readonly string[],
  addresses: readonly string[],
  warnings: string[],
): string[] {
  // With exact network_hosts, Deno allows only those names and the public addresses
  // they resolved to at launch; otherwise any host, and the tool policy checks names.
  // Either way Deno blocks every private range, whatever a name resolves to.
  const allowed = networkAllowList(hosts, addresses);
  warnings.push(...allowed.warnings);
  const flags: string[] = [];
  // No usable entry at all: no --allow-net (an empty `--allow-net=` stops Deno from starting).
  if (!allowed.entries) flags.push("--allow-net");
  else if (allowed.entries.length) flags.push(`--allow-net=${list(allowed.entries)}`);
  flags.push(`--deny-net=${DENIED_NETWORKS.join(",")}`);
  // Name resolution reads the resolver configuration.
  flags.push(`--allow-sys=hostname`);
  return flags;
}
