/**
 * The egress proxy of one capsule run: started by `runCapsule` when the
 * plan lets programs reach network hosts (`plan.egress`), wired to the run's
 * resolver, paid-API approvals and events, and stopped when the run ends.
 */
import type { CapsuleEvent, RunCapsuleOptions } from "./capsule_types.ts";
import type { LaunchPlan } from "./launcher.ts";
import { EgressProxy } from "./egress_proxy.ts";
import { errorText } from "./_format.ts";

/**
 * Starts the run's proxy and points the programs' sandbox at its socket;
 * `null` when programs get no network. A proxy that cannot start leaves
 * them without one (with a warning), never with a direct route.
 */
export async function startCapsuleEgress(
  plan: LaunchPlan,
  options: RunCapsuleOptions,
): Promise<{ close(): Promise<void> } | null> {
  if (!plan.egress || !plan.programSandbox) return null;
  const emit = (event: CapsuleEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // a failing listener never breaks the proxy
    }
  };
  const approve = options.hooks.approve?.bind(options.hooks);
  const done = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, done.signal]) : done.signal;
  let ids = 0;
  try {
    const proxy = await EgressProxy.start({
      networkHosts: plan.egress.networkHosts,
      byteLimit: plan.egress.byteLimit,
      resolver: options.resolver,
      paidApiProviders: options.settings.paidApiProviders,
      approve: approve &&
        (async (provider, host, endpoint) => {
          const t0 = performance.now();
          const answer = await approve({
            provider,
            endpoint,
            reason: `a program of agent ${options.manifest.agent_id} connects to ${host}`,
            agent_id: options.manifest.agent_id,
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
