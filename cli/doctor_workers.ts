/**
 * `doctor`'s scale-out check, only with CLOSED_CLAW_NATS_URL set: NATS
 * answers with JetStream, and which workers are live (their sandbox too).
 */
import type { Settings } from "../core/settings.ts";
import type { Check } from "./doctor.ts";

export async function checkWorkers(settings: Settings): Promise<Check | null> {
  if (!settings.natsUrl) return null;
  const name = "workers";
  const { connectNats, jetStreamOf } = await import("../workers/nats_connection.ts");
  const { listWorkers } = await import("../workers/worker.ts");
  let nc;
  try {
    nc = await connectNats(settings, "closed-claw doctor", { firstTries: 1 });
  } catch (error) {
    return {
      name,
      status: "fail",
      detail: (error as Error).message,
      fix: "Start nats-server with -js, fix CLOSED_CLAW_NATS_*, or unset CLOSED_CLAW_NATS_URL.",
    };
  }
  try {
    await jetStreamOf(nc);
    const workers = await listWorkers(nc);
    if (!workers.length) {
      return {
        name,
        status: "warn",
        detail: `NATS at ${settings.natsUrl} answers; no worker is live, so capsules will wait`,
        fix: `Start one: \`closed-claw worker --nats ${settings.natsUrl}\`.`,
      };
    }
    const list = workers.map((w) => `${w.name} (${w.sandbox}, ${w.running}/${w.max_capsules})`);
    const plain = workers.filter((w) => w.sandbox !== "bwrap").map((w) => w.name);
    return {
      name,
      status: plain.length ? "warn" : "ok",
      detail: `${workers.length} live on ${settings.natsUrl}: ${list.join(", ")}`,
      ...(plain.length
        ? {
          fix: `Install bubblewrap on ${
            plain.join(", ")
          }: their capsules get Deno's permissions only.`,
        }
        : {}),
    };
  } catch (error) {
    return { name, status: "fail", detail: (error as Error).message };
  } finally {
    await nc.close();
  }
}
