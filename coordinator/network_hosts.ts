/**
 * The network hosts a plan may give a subtask (and so a new agent's
 * `permissions.network_hosts`): host names, or `*.` and a name for its
 * sub-domains, checked before anything is granted. A bad pattern is refused
 * with one line saying why; routing reuses an agent only when its hosts
 * cover every host a subtask needs.
 */
import {
  blockedHostName,
  blockedReason,
  formatIp,
  normalizeHost,
  parseIp,
} from "../guest/policy/ssrf.ts";
import { toolsWithPermission } from "../guest/tools/registry.ts";

const EXEC_TOOLS = toolsWithPermission("exec");

/** At most this many hosts per subtask; the rest are refused. */
export const MAX_HOSTS = 16;

const LABEL = "[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?";
/** A name of two labels or more (single labels resolve through local search domains). */
const NAME = new RegExp(`^${LABEL}(\\.${LABEL})+$`);

const HOW = "give a host name or *.domain (e.g. github.com, *.pypi.org)";

/** The checked hosts, and one line for each entry refused. */
export interface HostCheck {
  hosts: string[];
  refused: string[];
}

/**
 * Why one entry cannot be granted, or its normal form. An IP address is
 * accepted only when `givenText` (the user's task and context) names it,
 * and never when it is private, loopback, link-local or metadata.
 *
 * @example
 * ```ts
 * checkHostPattern("*.PyPI.org"); // { host: "*.pypi.org" }
 * checkHostPattern("https://github.com/x"); // { refused: "network host ... refused: ..." }
 * ```
 */
export function checkHostPattern(
  raw: string,
  givenText = "",
): { host: string } | { refused: string } {
  const text = String(raw).trim();
  const refuse = (why: string) => ({
    refused: `network host "${text.slice(0, 80)}" refused: ${why}`,
  });
  if (!text) return refuse(`it is empty; ${HOW}`);
  if (text.includes("://")) return refuse(`no scheme; ${HOW}`);
  if (/[/\\@?#,\s]/.test(text)) return refuse(`no path, user or query; ${HOW}`);
  const host = normalizeHost(text);
  const ip = parseIp(host);
  if (ip) {
    const reason = blockedReason(ip);
    if (reason) return refuse(`${formatIp(ip)} is not a public address (${reason})`);
    const named = [text, host, formatIp(ip)].some((form) => givenText.includes(form));
    if (!named) {
      return refuse("an IP address is allowed only when the task names it; give a host name");
    }
    return { host: formatIp(ip) };
  }
  if (host.includes(":")) return refuse(`no scheme or port; ${HOW}`);
  const wildcard = host.startsWith("*.");
  const name = wildcard ? host.slice(2) : host;
  // A numeric last label is an address in disguise (1.2.3.4.5), never a public name.
  if (!NAME.test(name) || name.length > 253 || /\.\d+$/.test(name)) {
    return refuse(
      wildcard ? `*. must be followed by a name of two labels or more; ${HOW}` : HOW,
    );
  }
  const local = blockedHostName(name);
  if (local) return refuse(local);
  return { host };
}

/** Checks a subtask's proposed hosts: normal forms, once each, at most `MAX_HOSTS`. */
export function checkHostPatterns(raw: readonly string[], givenText = ""): HostCheck {
  const hosts: string[] = [];
  const refused: string[] = [];
  for (const entry of raw) {
    const checked = checkHostPattern(entry, givenText);
    if ("refused" in checked) refused.push(checked.refused);
    else if (hosts.includes(checked.host)) continue;
    else if (hosts.length >= MAX_HOSTS) {
      refused.push(
        `network host "${checked.host}" refused: at most ${MAX_HOSTS} hosts per subtask`,
      );
    } else hosts.push(checked.host);
  }
  return { hosts, refused };
}

/**
 * Whether `pattern` (an agent's host) covers `need` (a subtask's host):
 * the same entry, or `*.x` for any name or pattern under x (not x itself).
 */
export function hostCovers(pattern: string, need: string): boolean {
  const p = normalizeHost(pattern.trim());
  const n = normalizeHost(need.trim());
  if (p === n) return true;
  if (!p.startsWith("*.")) return false;
  const body = n.startsWith("*.") ? n.slice(2) : n;
  return body.endsWith(p.slice(1));
}

/** Whether an agent's hosts cover every host a subtask needs. */
export function hostsCovered(agentHosts: readonly string[], need: readonly string[]): boolean {
  return need.every((n) => agentHosts.some((p) => hostCovers(p, n)));
}

/** Where the egress proxy stands here (`egressProxyAvailable` in capsule_runtime/egress_bridge.ts). */
export interface ProxyState {
  available: boolean;
  detail: string;
}

/**
 * What an agent's programs may reach, in one line, for `closed-claw agent`
 * and the dashboard's agent page; `hosts` is empty without a program tool.
 *
 * @example
 * ```ts
 * programNetwork(["terminal"], ["github.com"], { available: true, detail: "" }).line;
 * // "github.com (through the egress proxy, which logs every connection)"
 * ```
 */
export function programNetwork(
  tools: readonly string[],
  networkHosts: readonly string[],
  proxy: ProxyState,
): { hosts: string[]; reachable: boolean; line: string } {
  const hosts = [...networkHosts];
  if (!tools.some((t) => (EXEC_TOOLS as readonly string[]).includes(t))) {
    return { hosts: [], reachable: false, line: `(no program tool: ${EXEC_TOOLS.join(", ")})` };
  }
  if (hosts.length === 0) {
    return { hosts, reachable: false, line: "(none: no network_hosts, programs have no network)" };
  }
  if (!proxy.available) {
    return {
      hosts,
      reachable: false,
      line: `${
        hosts.join(", ")
      } granted, but the egress proxy is not available here: ${proxy.detail}`,
    };
  }
  return {
    hosts,
    reachable: true,
    line: `${hosts.join(", ")} (through the egress proxy, which logs every connection)`,
  };
}
