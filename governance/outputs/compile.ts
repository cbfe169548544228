/**
 * Output rules from policy sources, and the compiled policy they belong to. The `outputs:`
 * section is validated with the rest of each document by the policy compiler (a bad pattern is
 * a PolicyError at `file:line:col`); here the sections of a set (includes followed) are read
 * again and compiled, and kept beside the CompiledPolicy so a reload swaps both at once.
 * @module
 */
import type { CompiledPolicy, PolicySource } from "../policy/compile.ts";
import { parseYamlSource, validateDocument } from "../policy/parse.ts";
import { NO_OUTPUT_RULES, OutputRules } from "./rules.ts";
import type { OutputsSection } from "./schema.ts";

/** The output rules of YAML policy sources (Cedar sources have none). Never throws. */
export function compileOutputRules(
  sources: readonly PolicySource[],
  resolveInclude?: (include: string, from: string) => PolicySource,
): OutputRules {
  const sections: OutputsSection[] = [];
  const seen = new Set<string>();
  const load = (src: PolicySource) => {
    const path = src.path ?? "<policy>";
    if (seen.has(path) || src.format === "cedar" || path.endsWith(".cedar")) return;
    seen.add(path);
    if (!/^outputs\s*:/m.test(src.text) && !/^include\s*:/m.test(src.text)) return;
    const { doc } = validateDocument(parseYamlSource(src.text, path));
    if (!doc) return;
    if (doc.outputs) sections.push(doc.outputs);
    for (const inc of doc.include ?? []) {
      try {
        if (resolveInclude) load(resolveInclude(inc, path));
      } catch { /* the policy compiler reports it */ }
    }
  };
  for (const s of sources) load(s);
  return sections.length ? new OutputRules(sections) : NO_OUTPUT_RULES;
}

const ATTACHED = new WeakMap<CompiledPolicy, OutputRules>();

/** Keep `rules` as the output rules of `policy`. */
export function attachOutputRules(policy: CompiledPolicy, rules: OutputRules): CompiledPolicy {
  ATTACHED.set(policy, rules);
  return policy;
}

/** The output rules of a compiled policy (none when it was compiled without them). */
export function outputRulesOf(policy: CompiledPolicy): OutputRules {
  return ATTACHED.get(policy) ?? NO_OUTPUT_RULES;
}
