/**
 * The egress proxy of one capsule run: started by `runCapsule` when the
 * plan lets programs reach network hosts (`plan.egress`), wired to the run's
 * resolver, paid-API approvals and events, and stopped when the run ends.
 */
import type { CapsuleEvent, CapsuleHooks, RunCapsuleOptions } from "./capsule_types.ts";
import type { Resolver } from "../guest/policy/ssrf.ts";
import type { LaunchPlan } from "./launcher.ts";
import { EgressProxy } from "./egress_proxy.ts";
import { errorText } from "./_format.ts";

/** What a capsule's egress proxy needs besides the plan (a worker gives its own). */
export interface EgressSetup {
  agentId: string;
  paidApiProviders: string[];
  resolver?: Resolver;
  /** Asks about a paid-API host; absent: such hosts are refused. */
  approve?: CapsuleHooks["approve"];
  emit(event: CapsuleEvent): void;
  signal?: AbortSignal;
}

/** The run's proxy for a capsule started here (`runCapsule`). */
export function startCapsuleEgress(
  plan: LaunchPlan,
  options: RunCapsuleOptions,
): Promise<{ close(): Promise<void> } | null> {
  return startEgress(plan, {
    agentId: options.manifest.agent_id,
    paidApiProviders: options.settings.paidApiProviders,
    resolver: options.resolver,
    approve: options.hooks.approve?.bind(options.hooks),
    emit: (event) => options.onEvent?.(event),
    signal: options.signal,
  });
}

/**
 * Starts the proxy and points the programs' sandbox at its socket;
 * `null` when programs get no network. A proxy that cannot start leaves
 * them without one (with a warning), never with a direct route.
 */
export async function startEgress(
  plan: LaunchPlan,
  setup: EgressSetup,
): Promise<{ close(): Promise<void> } | null> {
  if (!plan.egress || !plan.programSandbox) return null;
  const emit = (event: CapsuleEvent) => {
    try {
      setup.emit(event);
    } catch {
      // a failing listener never breaks the proxy
    }
  };
  const approve = setup.approve;
  const done = new AbortController();
  const signal = setup.signal ? AbortSignal.any([setup.signal, done.signal]) : done.signal;
  let ids = 0;
  try {
    const proxy = await EgressProxy.start({
      networkHosts: plan.egress.networkHosts,
      byteLimit: plan.egress.byteLimit,
      resolver: setup.resolver,
      paidApiProviders: setup.paidApiProviders,
      approve: approve &&
        (async (provider, host, endpoint) => {
          const t0 = performance.now();
          const answer = await approve({
            provider,
            endpoint,
            reason: `a program of agent ${setup.agentId} connects to ${host}`,
            agent_id: setup.agentId,
            tool: "egress_proxy",
            args: { host },
            signal,
          });
          emit({
            type: "approval",
            id: `egress-${++ids}`,
            tool: "egress_proxy",
            provider,
            endpoint,
            approved: answer.approved,
            note: answer.note,
            ms: Math.round(performance.now() - t0),
          });
          return answer;
        }),
      onConnection: (record) => emit({ type: "egress", ...record }),
    });
    plan.programSandbox.egressSocket = proxy.socketPath;
    return {
      close: () => {
        done.abort();
        return proxy.close();
      },
    };
  } catch (error) {
    const msg = `the egress proxy could not start (${errorText(error)}); programs get no network`;
    plan.warnings.push(msg);
    return null;
  }
}
