/**
 * `require` of an agent's own files (issue 19). Node's `Module._findPath`, for a relative
 * request (`./x.cjs`, `../lib/y.mjs`), first stats the directory it resolves against — the
 * requiring module's directory — to skip lookup paths that are not directories. Under Warden
 * that stat is a broker `read` of the agent's code directory, which the module-graph rule
 * refuses (a directory is not own code; allowing it would let the agent list the directory),
 * so every `createRequire(import.meta.url)("./x.cjs")` of a plain local agent failed.
 *
 * Installed by the bootstrap in "node" mode, this sends such a request on as the absolute
 * path it names (`path.resolve(dir, request)`, a trailing `/` kept), for which Node's own
 * algorithm skips the directory stat (Deno's `_findPath` treats an absolute request with the
 * lookup path `""`). Nothing else changes: every candidate file (`x`, `x.js`, `x/index.js`…)
 * is still stat-ed and read by Deno, each a broker check decided as before (own code is the
 * module graph; anything else is `fs.read` or a refused `import`); a request that climbs out
 * of the code tree reaches the broker as the outside path it is. Only a request with exactly
 * one absolute lookup path is rewritten (the parent's directory, or one `paths` option of
 * `require.resolve`); module names (`lodash`) and several lookup paths go through unchanged.
 *
 * A request Node would resolve by searching (`./lib/y` for `lib/y.js`, a directory's index or
 * package.json `main`) stats candidates and directories that are not own code. The host
 * resolved the agent's literal requests before start (graph.ts `requires`, only to own-code
 * modules of the entry's tree): such a request is sent on as the module it resolved to, so
 * none of those stats happens. Any other request searches as Node does, each stat a check.
 * This file has no static imports (the bootstrap imports it statically: no permission check).
 */

type FindPath = (request: unknown, paths: unknown, ...rest: unknown[]) => unknown;

let installed = false;

/** Whether `request` is relative in Node's sense (`./`, `../`, `.`, `..`). */
export function isRelativeRequest(request: string): boolean {
  return request === "." || request === ".." || request.startsWith("./") ||
    request.startsWith("../");
}

/**
 * The absolute request `_findPath` gets for a relative `request` looked up in `paths`, or null
 * when it goes through unchanged. `resolve` is `node:path`'s.
 */
export function absoluteRequest(
  request: unknown,
  paths: unknown,
  resolve: (...p: string[]) => string,
): string | null {
  if (typeof request !== "string" || !isRelativeRequest(request)) return null;
  if (!Array.isArray(paths) || paths.length !== 1) return null;
  const dir = paths[0];
  if (typeof dir !== "string" || !dir.startsWith("/")) return null;
  const abs = resolve(dir, request);
  return request.endsWith("/") && !abs.endsWith("/") ? abs + "/" : abs;
}

/**
 * Wrap `Module._findPath` (once per process); `requires` is the host's map from the absolute
 * path a relative request names to the own-code module it loads.
 */
export async function installRequireCompat(
  requires: Record<string, string> = {},
): Promise<void> {
  if (installed) return;
  installed = true;
  const Module = (await import("node:module")).default as unknown as { _findPath: FindPath };
  const { resolve } = (await import("node:path")).default;
  const findPath = Module._findPath;
  const resolved = new Map(Object.entries(requires));
  if (typeof findPath !== "function") throw new Error("node:module has no _findPath to wrap");
  Module._findPath = function _findPath(this: unknown, request, paths, ...rest) {
    const abs = absoluteRequest(request, paths, resolve);
    const to = abs === null ? request : resolved.get(abs) ?? abs;
    return findPath.call(this, to, paths, ...rest);
  };
}
