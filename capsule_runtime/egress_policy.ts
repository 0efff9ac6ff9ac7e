/**
 * The egress proxy's policy: whether a program may open a connection to
 * `host:port`. Only hosts on the manifest's `network_hosts` (exact names or
 * `*.` patterns); raw IP addresses only when listed; the name is resolved
 * here, once, through the SSRF guard (guest/policy/ssrf.ts), so a listed
 * name that resolves to a loopback, private, link-local or metadata address
 * is refused; only ports 80 and 443; hosts of paid APIs need an approval; and every host has a
 * byte budget for the run. The answer names the checked address to connect
 * to, so nothing resolves the name again (DNS-rebinding safe).
 */
import {
  blockedReason,
  checkUrl,
  formatIp,
  hostAllowed,
  normalizeHost,
  parseIp,
  type Resolver,
} from "../guest/policy/ssrf.ts";
import { paidProviderFor } from "../guest/policy/paid_api.ts";

/** What the policy needs; one per capsule run. */
export interface EgressPolicyOptions {
  /** The manifest's network_hosts; empty: no host at all. */
  networkHosts: readonly string[];
  /** DNS resolver (tests inject one); default: the system's. */
  resolver?: Resolver;
  /** CLOSED_CLAW_PAID_API_PROVIDERS. */
  paidApiProviders?: readonly string[];
  /**
   * Asks for approval of a paid-API host (once per host and run). Absent:
   * such hosts are refused.
   */
  approve?: (provider: string, host: string, endpoint: string) => Promise<{
    approved: boolean;
    note: string;
  }>;
  /** Bytes (up plus down) each host may move over the run. */
  byteLimit: number;
  /** How long a name may take to resolve (default 5 s). */
  dnsTimeoutMs?: number;
}

/** The verdict on one connection. */
export type EgressVerdict =
  | { allowed: true; host: string; address: string; reason: string }
  | { allowed: false; host: string; reason: string };

/** Parses `host:port` of a CONNECT request (IPv6 in brackets), or `null`. */
export function parseAuthority(authority: string): { host: string; port: number } | null {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]\s/@]+):(\d{1,5})$/.exec(authority.trim());
  if (!match) return null;
  const port = Number(match[2]);
  if (port < 1 || port > 65_535) return null;
  return { host: normalizeHost(match[1]), port };
}

/** The policy of one run: the byte counters and the approvals live as long as it does. */
/** The ports programs may reach on a listed host. */
export const EGRESS_PORTS: readonly number[] = [80, 443];

export class EgressPolicy {
  /** Bytes each host has moved so far. */
  readonly used = new Map<string, number>();
  private readonly approvals = new Map<string, Promise<{ approved: boolean; note: string }>>();

  constructor(readonly options: EgressPolicyOptions) {}

  /** Whether a program may connect to `host:port`; `endpoint` is shown in approvals. */
  async decide(rawHost: string, port: number, endpoint: string): Promise<EgressVerdict> {
    const host = normalizeHost(rawHost);
    const refuse = (reason: string): EgressVerdict => ({ allowed: false, host, reason });
    const { networkHosts } = this.options;
    if (networkHosts.length === 0) return refuse("this agent has no network_hosts");
    const ip = parseIp(host);
    if (ip && !hostAllowed(formatIp(ip), networkHosts) && !hostAllowed(host, networkHosts)) {
      return refuse(`raw IP address ${formatIp(ip)} is not in this agent's network_hosts`);
    }
    if (!ip && !hostAllowed(host, networkHosts)) {
      return refuse(`host '${host}' is not in this agent's network_hosts`);
    }
    if (ip && blockedReason(ip)) return refuse(`address ${formatIp(ip)} is ${blockedReason(ip)}`);
    const authority = host.includes(":") ? `[${host}]` : host;
    const check = await checkUrl(`http://${authority}:${port}/`, this.options.resolver, {
      networkHosts,
      dnsTimeoutMs: this.options.dnsTimeoutMs ?? 5_000,
    });
    if (!check.ok) return refuse(check.error);
    // Web ports only: a listed host's SSH, SMTP or database ports are another way out.
    if (!EGRESS_PORTS.includes(port)) {
      return refuse(
        `port ${port} is not allowed (programs reach listed hosts on ports 80 and 443)`,
      );
    }
    if (this.spent(host)) return refuse(this.limitReason());
    const provider = paidProviderFor(host, this.options.paidApiProviders ?? []);
    if (provider) {
      const answer = await this.approval(provider, host, endpoint);
      if (!answer.approved) {
        return refuse(`paid API host '${host}' (${provider}) was not approved: ${answer.note}`);
      }
    }
    const reason = provider ? `paid API host approved (${provider})` : "listed host";
    return { allowed: true, host, address: check.pinned.address, reason };
  }

  /** Adds `bytes` to the host's count; false once the host is over its budget. */
  count(host: string, bytes: number): boolean {
    const total = (this.used.get(host) ?? 0) + bytes;
    this.used.set(host, total);
    return total <= this.options.byteLimit;
  }

  /** Whether the host has used its whole budget. */
  spent(host: string): boolean {
    return (this.used.get(host) ?? 0) >= this.options.byteLimit;
  }

  /** Why a connection was cut off or refused for its bytes. */
  limitReason(): string {
    const mib = Math.round(this.options.byteLimit / (1024 * 1024) * 100) / 100;
    return `byte limit of ${mib} MiB per host for this run reached`;
  }

  /** One approval per paid host and run (a program opens many connections). */
  private approval(provider: string, host: string, endpoint: string) {
    let answer = this.approvals.get(host);
    if (!answer) {
      const ask = this.options.approve;
      answer = ask
        ? ask(provider, host, endpoint).catch((error) => ({
          approved: false,
          note: `approval failed: ${error instanceof Error ? error.message : String(error)}`,
        }))
        : Promise.resolve({ approved: false, note: "no approver is reachable for this capsule" });
      this.approvals.set(host, answer);
    }
    return answer;
  }
}
