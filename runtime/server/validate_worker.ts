/**
 * Compiles one untrusted policy text per message, off the host's event loop (see validate.ts).
 * Before compiling, refuses texts whose YAML aliases expand them far beyond their size.
 */
import { load } from "js-yaml";
import { compilePolicy, formatProblem, PolicyError } from "../../governance/mod.ts";
import { cedarEngine } from "../policy/cedar_engine.ts";
import { expansionProblem } from "./validate.ts";

interface Job {
  id: number;
  text: string;
  path: string;
}
const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<Job>) => void) | null;
  postMessage(m: unknown): void;
};

scope.onmessage = ({ data: { id, text, path } }) => {
  const problems = (ps: string[]) => scope.postMessage({ id, ok: false, problems: ps });
  let data: unknown;
  try {
    data = load(text);
  } catch {
    data = undefined; // the compiler reports syntax errors with their positions
  }
  const bomb = expansionProblem(data, text.length);
  if (bomb) return problems([`${path}:1:1: ${bomb}`]);
  try {
    const p = compilePolicy(text, { path, cedarEngine });
    scope.postMessage({ id, ok: true, rules: p.rules.length });
  } catch (e) {
    if (e instanceof PolicyError) return problems(e.problems.map(formatProblem));
    problems([`${path}:1:1: cannot compile: ${e instanceof Error ? e.message : e}`]);
  }
};
scope.postMessage({ ready: true });
