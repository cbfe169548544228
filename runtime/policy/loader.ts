/** Load policies from files and directories (with `include:`) and compile them as one set. */
import { dirname, join, resolve } from "node:path";
import {
  type CompiledPolicy,
  type CompileOptions,
  compilePolicySet,
  PolicyError,
  type PolicySource,
} from "../../governance/mod.ts";
import { compileRings, type RingCeilings } from "../../governance/rings/mod.ts";
import { attachOutputRules, compileOutputRules } from "../../governance/outputs/mod.ts";
import { realPath } from "../broker/map.ts";
import { cedarEngine } from "./cedar_engine.ts";

const POLICY_EXT = /\.(ya?ml|cedar)$/;

function readSource(path: string): PolicySource {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "no such file"
      : e instanceof Error
      ? e.message
      : String(e);
    throw new PolicyError([{ path, line: 1, column: 1, message: `cannot read policy: ${why}` }]);
  }
  return { text, path, format: path.endsWith(".cedar") ? "cedar" : "yaml" };
}

/** The policy files named by `target`: the file itself, or a directory's policy files sorted. */
export function policyFiles(target: string): string[] {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(target);
  } catch {
    throw new PolicyError([{
      path: target,
      line: 1,
      column: 1,
      message: "no such file or directory",
    }]);
  }
  if (!info.isDirectory) return [target];
  const files = [...Deno.readDirSync(target)]
    .filter((e) => e.isFile && POLICY_EXT.test(e.name))
    .map((e) => join(target, e.name))
    .filter((f) => !isRingsFile(f))
    .sort();
  if (files.length === 0) {
    throw new PolicyError([{
      path: target,
      line: 1,
      column: 1,
      message: "directory holds no policy files",
    }]);
  }
  return files;
}

/** Ring definitions (`kind: Rings`) live beside policies but are not policies. */
function isRingsFile(path: string): boolean {
  try {
    return /^kind:\s*Rings\s*$/m.test(Deno.readTextFileSync(path));
  } catch {
    return false;
  }
}

/** The host's built-in rules (own code and SDK imports). */
export const BUILTIN_POLICY = new URL("./builtin.yaml", import.meta.url).pathname;

/** The shipped ring ceilings. */
export const DEFAULT_RINGS = new URL("../../policies/rings.yaml", import.meta.url).pathname;

/**
 * Load and compile the policies at `targets` (files or directories). `include:` entries are
 * resolved relative to the including file; `builtin` adds the host's built-in rules. Path
 * roots in rules are resolved through symlinks now, as the broker resolves requests (pass
 * `resolvePath` to change that); loading again (a reload) resolves them again. `.cedar`
 * sources are compiled with the runtime's Cedar engine (cedar_engine.ts).
 * Throws PolicyError with positions.
 */
export function loadPolicy(
  targets: string | string[],
  options: CompileOptions & { builtin?: boolean } = {},
): CompiledPolicy {
  const list = typeof targets === "string" ? [targets] : [...targets];
  if (options.builtin) list.unshift(BUILTIN_POLICY);
  const sources = list.flatMap(policyFiles).map(readSource);
  const resolveInclude = (inc: string, from: string) => readSource(resolve(dirname(from), inc));
  const policy = compilePolicySet(sources, {
    resolvePath: realPath,
    cedarEngine,
    ...options,
    resolveInclude,
  });
  return attachOutputRules(policy, compileOutputRules(sources, resolveInclude));
}

/** Load the ring ceilings (the shipped ones by default). */
export function loadRings(path = DEFAULT_RINGS): RingCeilings {
  const text = readSource(path).text;
  return compileRings(text, path);
}
