/**
 * Where one attempt's capsule comes from: a worker machine when the options
 * carry a placement (workers/placement.ts), else a capsule of this run's pool
 * already running from this very plan (a first attempt only), else a new
 * local process. Never throws: a capsule that cannot start is a failure.
 */
import type { LaunchPlan } from "./launcher.ts";
import { type CapsuleChannel, CapsuleProcess } from "./supervisor.ts";
import {
  type CapsuleEvent,
  PlacementError,
  type RemoteLaunch,
  type RunCapsuleOptions,
} from "./capsule_types.ts";
import { errorText } from "./_format.ts";
import type { WarmKind } from "./capsule_pool.ts";

/** Starts the capsule here, or on a worker when the options carry a placement. */
export async function launchCapsule(
  options: RunCapsuleOptions,
  plan: LaunchPlan,
  attempt: number,
  emit: (event: CapsuleEvent) => void,
): Promise<
  | {
    channel: CapsuleChannel;
    plan: LaunchPlan;
    remote?: RemoteLaunch;
    local?: CapsuleProcess;
    warm?: WarmKind;
  }
  | { failure: { code: string; message: string } }
> {
  const onStderrLine = (line: string) => emit({ type: "log", level: "stderr", msg: line });
  if (options.placement) {
    try {
      const remote = await options.placement.launch({
        plan,
        manifest: options.manifest,
        workspace: options.workspace ?? options.settings.workspace,
        allowedRoots: options.allowedRoots ??
          [options.workspace ?? options.settings.workspace, ...options.settings.extraAllowedPaths],
        runId: options.runId,
        attempt,
        onStderrLine,
        signal: options.signal,
        paidApiProviders: options.settings.paidApiProviders,
        approve: options.hooks.approve?.bind(options.hooks),
        emit,
      });
      return { channel: remote.channel, plan: remote.plan, remote };
    } catch (error) {
      const code = error instanceof PlacementError ? error.code : "capsule_spawn_failed";
      return { failure: { code, message: errorText(error) } };
    }
  }
  // A first attempt may start on a capsule already running from this very plan;
  // a relaunch always spawns a new one, as before.
  const taken = attempt === 1 && options.pool
    ? await options.pool.take(plan, options.manifest)
    : null;
  if (taken) {
    taken.proc.handOver(onStderrLine);
    return { channel: taken.proc, plan, local: taken.proc, warm: taken.kind };
  }
  try {
    const proc = CapsuleProcess.spawn(plan, onStderrLine);
    return { channel: proc, plan, local: proc };
  } catch (error) {
    return {
      failure: {
        code: "capsule_spawn_failed",
        message: `Could not start the capsule: ${(error as Error).message}`,
      },
    };
  }
}
