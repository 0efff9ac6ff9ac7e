/**
 * Moved to tests/helpers/coordinator_brain.ts. This re-export only keeps
 * demo/record.ts working until its import names the new path; tests import
 * the helper from tests/helpers/.
 */
export * from "../helpers/coordinator_brain.ts";
