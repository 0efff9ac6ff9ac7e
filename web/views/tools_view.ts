/** The tool catalogue as the dashboard lists it. */
import { TOOL_CATALOG } from "../../tools/catalog.ts";

/** `GET /api/tools`'s body. */
export function toolsView() {
  return TOOL_CATALOG.map((t) => ({
    name: t.name,
    description: t.description,
    args_schema: t.jsonSchema,
    risk_level: t.riskLevel,
    side_effects: t.sideEffects,
    enabled: true,
  }));
}
