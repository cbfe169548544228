/** Policy compile errors that always carry a source position. */

/** One problem found in a policy source, at `path:line:column`. */
export interface Problem {
  path: string;
  line: number;
  column: number;
  message: string;
}

/** Format a problem the way editors and CI logs expect: `file:line:col: message`. */
export function formatProblem(p: Problem): string {
  return `${p.path}:${p.line}:${p.column}: ${p.message}`;
}

/** Thrown when a policy does not compile; the first problem is mirrored on the error itself. */
export class PolicyError extends Error {
  readonly path: string;
  readonly line: number;
  readonly column: number;
  readonly problems: readonly Problem[];

  constructor(problems: Problem[]) {
    const list = problems.length > 0
      ? problems
      : [{ path: "<policy>", line: 1, column: 1, message: "invalid policy" }];
    super(list.map(formatProblem).join("\n"));
    this.name = "PolicyError";
    this.path = list[0].path;
    this.line = list[0].line;
    this.column = list[0].column;
    this.problems = list;
  }
}
