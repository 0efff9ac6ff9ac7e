/**
 * SSRF guard for the network tools, shared by host and guest.
 *
 * `checkUrl` accepts only http(s) URLs without credentials, refuses local
 * host names, parses IP literals in every form, resolves a host name ONCE and
 * refuses it when ANY address is non-public. It returns the checked addresses
 * and the one to connect to (`pinned`): the caller must connect to exactly
 * that address, never resolve again (DNS-rebinding safe). Guest-safe.
 */

/** One resolved address. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to all of its addresses. Injectable for tests. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** A parsed IP address as raw bytes. */
export type IpBytes = { family: 4; bytes: Uint8Array } | { family: 6; bytes: Uint8Array };

/** What `checkUrl` answers. */
export type UrlCheck =
  | {
    ok: true;
    url: URL;
    /** Lower-case host name without brackets or trailing dot. */
    host: string;
    port: number;
    /** Every address the host resolved to (all checked). */
    addresses: ResolvedAddress[];
    /** The checked address to connect to. */
    pinned: ResolvedAddress;
  }
  | { ok: false; error: string };

/** Options for `checkUrl`. */
export interface CheckUrlOptions {
  /** Manifest `network_hosts`: exact host or `*.example.com`; empty = any public host. */
  networkHosts?: readonly string[];
  /** Give up on DNS after this many milliseconds (default 10 s). */
  dnsTimeoutMs?: number;
}

// ---------------------------------------------------------------- IP parsing

/**
 * Parses an IPv4 address the way `inet_aton` does, so every form a URL parser
 * or resolver might accept is caught: `127.0.0.1`, `2130706433`,
 * `0x7f000001`, `0177.0.0.1`, `127.1`, `127.0.1`.
 */
export function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length > 4 || parts.some((p) => p === "")) return null;
  const values: number[] = [];
  for (const part of parts) {
    let value: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(part)) {
      value = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    } else if (/^0[0-7]+$/.test(part)) value = parseInt(part.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(part)) value = Number(part);
    else return null;
    if (!Number.isSafeInteger(value)) return null;
    values.push(value);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255)) return null;
  const lastMax = 2 ** (8 * (4 - values.length)) - 1;
  if (last > lastMax) return null;
  const bytes = new Uint8Array(4);
  values.forEach((v, i) => bytes[i] = v);
  for (let i = 3, rest = last; i >= values.length; i--, rest = Math.floor(rest / 256)) {
    bytes[i] = rest % 256;
  }
  return bytes;
}

/** Parses an IPv6 address (brackets allowed, zone ids refused, IPv4 tail allowed). */
export function parseIpv6(text: string): Uint8Array | null {
  let s = text;
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  if (!s.includes(":") || s.includes("%")) return null;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === "") return [];
    const groups: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (i === items.length - 1 && item.includes(".")) {
        // Only strict dotted-quad is valid inside IPv6.
        if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(item)) return null;
        const v4 = item.split(".").map(Number);
        if (v4.some((n) => n > 255)) return null;
        groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return null;
        groups.push(parseInt(item, 16));
      }
    }
    return groups;
  };
  const head = parseGroups(halves[0]);
  const tail = halves.length === 2 ? parseGroups(halves[1]) : [];
  if (!head || !tail) return null;
  let groups: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return null;
    groups = [...head, ...new Array(fill).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return null;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** Parses any IPv4 or IPv6 literal; `null` when `text` is a host name. */
export function parseIp(text: string): IpBytes | null {
  const v6 = parseIpv6(text);
  if (v6) return { family: 6, bytes: v6 };
  const v4 = parseIpv4(text);
  return v4 ? { family: 4, bytes: v4 } : null;
}

/** Canonical text of an address (`127.0.0.1`, `::ffff:7f00:1`). */
export function formatIp(ip: IpBytes): string {
  if (ip.family === 4) return Array.from(ip.bytes).join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip.bytes[i] << 8) | ip.bytes[i + 1]).toString(16));
  // Compress the longest run of zero groups, as RFC 5952 asks.
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

// ------------------------------------------------------------ classification

type Range = [prefix: number[], bits: number, reason: string];

const V4_BLOCKED: Range[] = [
  [[0], 8, "unspecified / this network"],
  [[10], 8, "private network"],
  [[100, 64], 10, "carrier-grade NAT (shared address space)"],
  [[127], 8, "loopback"],
  [[169, 254], 16, "link-local (cloud metadata)"],
  [[172, 16], 12, "private network"],
  [[192, 0, 0], 24, "IETF protocol assignments"],
  [[192, 0, 2], 24, "documentation (TEST-NET-1)"],
  [[192, 88, 99], 24, "6to4 relay anycast"],
  [[192, 168], 16, "private network"],
  [[198, 18], 15, "benchmarking"],
  [[198, 51, 100], 24, "documentation (TEST-NET-2)"],
  [[203, 0, 113], 24, "documentation (TEST-NET-3)"],
  [[224], 4, "multicast"],
  [[240], 4, "reserved / broadcast"],
];

const V6_BLOCKED: Range[] = [
  [[0x01, 0x00, 0, 0, 0, 0, 0, 0], 64, "discard-only"],
  [[0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48, "local-use NAT64"],
  [[0x20, 0x01, 0x0d, 0xb8], 32, "documentation"],
  [[0x20, 0x01, 0x00], 23, "IETF protocol assignments (incl. Teredo)"],
  [[0x20, 0x02], 16, "6to4 (embeds an IPv4 address)"],
  [[0x3f, 0xff], 20, "documentation"],
  [[0x5f, 0x00], 16, "segment routing"],
  [[0xfc], 7, "unique local (private network)"],
  [[0xfe, 0x80], 10, "link-local"],
  [[0xfe, 0xc0], 10, "site-local (deprecated)"],
  [[0xff], 8, "multicast"],
];

function inRange(bytes: Uint8Array, [prefix, bits]: Range): boolean {
  for (let bit = 0; bit < bits; bit++) {
    const byte = bit >> 3, mask = 0x80 >> (bit & 7);
    if ((bytes[byte] & mask) !== ((prefix[byte] ?? 0) & mask)) return false;
  }
  return true;
}

function allZero(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * Why an address must not be reached, or `null` when it is public.
 *
 * @example
 * ```ts
 * blockedReason(parseIp("::ffff:127.0.0.1")!); // "IPv4-mapped 127.0.0.1: loopback"
 * ```
 */
export function blockedReason(ip: IpBytes): string | null {
  const { bytes } = ip;
  if (ip.family === 4) {
    for (const range of V4_BLOCKED) if (inRange(bytes, range)) return range[2];
    return null;
  }
  if (allZero(bytes, 0, 16)) return "unspecified";
  if (allZero(bytes, 0, 15) && bytes[15] === 1) return "loopback";
  const embedded = (label: string): string | null => {
    const v4: IpBytes = { family: 4, bytes: bytes.slice(12, 16) };
    const reason = blockedReason(v4);
    return reason ? `${label} ${formatIp(v4)}: ${reason}` : null;
  };
  // ::ffff:a.b.c.d (mapped) and ::ffff:0:a.b.c.d (SIIT) reach the IPv4 host.
  if (allZero(bytes, 0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return embedded("IPv4-mapped");
  }
  if (allZero(bytes, 0, 8) && bytes[8] === 0xff && bytes[9] === 0xff && allZero(bytes, 10, 12)) {
    return embedded("IPv4-translated");
  }
  if (allZero(bytes, 0, 12)) return "IPv4-compatible (deprecated)";
  // 64:ff9b::/96, the well-known NAT64 prefix, also reaches the IPv4 host.
  if (inRange(bytes, [[0x00, 0x64, 0xff, 0x9b], 96, ""])) return embedded("NAT64");
  for (const range of V6_BLOCKED) if (inRange(bytes, range)) return range[2];
  // Only 2000::/3 is global unicast; everything else is reserved.
  if ((bytes[0] & 0xe0) !== 0x20) return "reserved";
  return null;
}

// ------------------------------------------------------------------ names

const BLOCKED_NAMES = new Set([
  "localhost",
  "ip6-localhost",
  "ip6-loopback",
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
]);
const BLOCKED_SUFFIXES = [".localhost", ".internal", ".local", ".home.arpa"];

/** Lower-cases and strips brackets and one trailing dot. */
export function normalizeHost(hostname: string): string {
  let host = hostname.toLowerCase();
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (host.endsWith(".")) host = host.slice(0, -1);
  return host;
}

/** Why a host name is refused before any lookup, or `null`. */
export function blockedHostName(host: string): string | null {
  if (BLOCKED_NAMES.has(host)) return `host '${host}' is a local or metadata name`;
  const suffix = BLOCKED_SUFFIXES.find((s) => host.endsWith(s));
  return suffix ? `host '${host}' is under the local-only domain '${suffix.slice(1)}'` : null;
}

/**
 * Whether `host` matches the manifest's `network_hosts`: an exact name, or
 * `*.example.com` for any sub-domain of example.com (not the apex itself).
 */
export function hostAllowed(host: string, networkHosts: readonly string[]): boolean {
  if (networkHosts.length === 0) return true;
  return networkHosts.some((pattern) => {
    const p = normalizeHost(pattern.trim());
    if (p.startsWith("*.")) return host.endsWith(p.slice(1)) && host.length > p.length - 1;
    return host === p;
  });
}

// --------------------------------------------------------------- resolving

/**
 * The system resolver (getaddrinfo), returning every address. node:dns is
 * loaded on the first lookup, not when a capsule starts (it costs start-up time).
 */
export const systemResolver: Resolver = async (hostname) => {
  const { lookup } = await import("node:dns/promises");
  const answers = await lookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

function describeDnsError(host: string, error: unknown): string {
  const code = (error as { code?: string })?.code;
  if (code === "ENOTFOUND" || code === "ENODATA" || error instanceof Deno.errors.NotFound) {
    return `DNS lookup failed: host '${host}' not found`;
  }
  if (code === "EPERM" || error instanceof Deno.errors.NotCapable) {
    return `DNS lookup of '${host}' is not permitted by the capsule's network permissions`;
  }
  if (code === "EAI_AGAIN") return `DNS lookup of '${host}' failed temporarily (EAI_AGAIN)`;
  return `DNS lookup of '${host}' failed: ${(error as Error)?.message ?? String(error)}`;
}

async function resolveWithDeadline(
  resolver: Resolver,
  host: string,
  timeoutMs: number,
): Promise<ResolvedAddress[]> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([resolver(host), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function defaultPort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === "https:" ? 443 : 80;
}

/** What the static (no-DNS) part of the check answers. */
export type StaticUrlCheck =
  | {
    ok: true;
    url: URL;
    host: string;
    port: number;
    /** The address when the host is an IP literal (already checked), else `null`. */
    literal: ResolvedAddress | null;
  }
  | { ok: false; error: string };

/**
 * The checks that need no DNS: scheme, credentials, allowlist, local names,
 * IP literals in every form.
 */
export function checkUrlStatic(rawUrl: unknown, options: CheckUrlOptions = {}): StaticUrlCheck {
  if (typeof rawUrl !== "string" || rawUrl.trim() === "") {
    return { ok: false, error: "url must be a non-empty string" };
  }
  let url: URL;
  try {
    url = new URL(rawUrl.trim());
  } catch {
    return { ok: false, error: `invalid URL '${rawUrl}'` };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { ok: false, error: `scheme '${url.protocol}' is not allowed: only http and https` };
  }
  if (url.username || url.password) {
    return { ok: false, error: "credentials in the URL are not allowed" };
  }
  const host = normalizeHost(url.hostname);
  if (!host) return { ok: false, error: `URL '${rawUrl}' has no host` };
  const networkHosts = options.networkHosts ?? [];
  if (!hostAllowed(host, networkHosts)) {
    return {
      ok: false,
      error: `host '${host}' is not in this agent's network_hosts: ${networkHosts.join(", ")}`,
    };
  }
  const port = defaultPort(url);
  const ip = parseIp(host);
  if (ip) {
    const reason = blockedReason(ip);
    if (reason) return { ok: false, error: `address ${formatIp(ip)} is ${reason}: refused` };
    return { ok: true, url, host, port, literal: { address: formatIp(ip), family: ip.family } };
  }
  const named = blockedHostName(host);
  if (named) return { ok: false, error: `${named}: refused` };
  return { ok: true, url, host, port, literal: null };
}

/**
 * Checks a URL for SSRF and resolves its host once.
 *
 * @example
 * ```ts
 * const check = await checkUrl("http://2130706433/");
 * check.ok; // false: "address 127.0.0.1 is loopback"
 * ```
 */
export async function checkUrl(
  rawUrl: unknown,
  resolver: Resolver = systemResolver,
  options: CheckUrlOptions = {},
): Promise<UrlCheck> {
  const first = checkUrlStatic(rawUrl, options);
  if (!first.ok) return first;
  const { url, host, port, literal } = first;
  if (literal) return { ok: true, url, host, port, addresses: [literal], pinned: literal };
  let answers: ResolvedAddress[];
  try {
    answers = await resolveWithDeadline(resolver, host, options.dnsTimeoutMs ?? 10_000);
  } catch (error) {
    return { ok: false, error: describeDnsError(host, error) };
  }
  if (!Array.isArray(answers) || answers.length === 0) {
    return { ok: false, error: `DNS lookup: host '${host}' has no addresses` };
  }
  const addresses: ResolvedAddress[] = [];
  for (const answer of answers) {
    const ip = parseIp(String(answer?.address));
    if (!ip) return { ok: false, error: `host '${host}' resolved to an unparseable address` };
    const reason = blockedReason(ip);
    if (reason) {
      return {
        ok: false,
        error: `host '${host}' resolves to ${formatIp(ip)} (${reason}): refused`,
      };
    }
    addresses.push({ address: formatIp(ip), family: ip.family });
  }
  // Prefer IPv4: many hosts publish AAAA records the sandbox cannot route.
  const pinned = addresses.find((a) => a.family === 4) ?? addresses[0];
  return { ok: true, url, host, port, addresses, pinned };
}
