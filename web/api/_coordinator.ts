/** The coordinator for routes that drive runs; a build without one answers 503. */
import type { CoordinatorPort, WebDeps } from "../deps.ts";
import { HttpError } from "../http.ts";

export function coordinatorOf(deps: WebDeps): CoordinatorPort {
  if (!deps.coordinator) {
    throw new HttpError(
      503,
      "coordinator_unavailable",
      "the coordinator is not available in this build",
    );
  }
  return deps.coordinator;
}
