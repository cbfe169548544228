/** Zod validators for a manifest's tools, keyed by tool name. */
import type { z } from "zod";
import { jsonSchemaToZod } from "./jsonschema.ts";
import type { PluginManifest } from "./manifest.ts";

/** One validator per tool: `validators.forecast.safeParse(args)` before calling it. */
export function toolValidators(
  manifest: Pick<PluginManifest, "tools">,
): Record<string, z.ZodType> {
  const out: Record<string, z.ZodType> = {};
  for (const [name, spec] of Object.entries(manifest.tools)) out[name] = jsonSchemaToZod(spec.args);
  return out;
}
