/**
 * Path roots written in policies, in the form requests are compared in. Requests reach the
 * engine resolved through every symlink (the runtime does that before deciding), so a root
 * written through a symlink (`/var/run` -> `/run`) would never match. A runtime that can
 * resolve paths injects a resolver (`compilePolicy(text, { resolvePath })`); each root then
 * matches in the form written and in its resolved form. Pure: the resolver does the I/O.
 *
 * - `within` roots, rule `resource:` values of file actions and path literals of `eq`, `in`,
 *   `ne`, `not_in` resolve whole;
 * - path globs resolve their literal leading directories (`/var/run/*.sock`);
 * - path `prefix` values resolve their directory part (a prefix may end in part of a name:
 *   `/var/run/app` also matches `/var/run/app.sock`), and keep a trailing slash;
 * - static roots resolve once, when the policy is compiled (a reload resolves again); roots
 *   with `${…}` variables resolve after substitution, per request, unless the root is one bare
 *   variable (`${workspace}`, `${context.code}`: the host supplies those already resolved).
 */
import { normalizePath } from "./normalize.ts";

/** Resolves an absolute path through symlinks (the longest existing prefix; the rest as is). */
export type PathResolver = (path: string) => string;

/** `path` resolved and normalized; the input itself when the resolver fails or gives junk. */
export function resolvedPath(path: string, resolve: PathResolver): string {
  try {
    const r = resolve(path);
    return typeof r === "string" ? normalizePath(r) ?? path : path;
  } catch {
    return path;
  }
}

/** A normalized `within` root (or exact path) and, when it differs, its resolved form. */
export function rootForms(root: string, resolve?: PathResolver): string[] {
  if (!resolve || !root.startsWith("/")) return [root];
  const r = resolvedPath(root, resolve);
  return r === root ? [root] : [root, r];
}

/** A path `prefix` value and, when it differs, the form with its directory part resolved. */
export function prefixForms(prefix: string, resolve?: PathResolver): string[] {
  if (!resolve || !prefix.startsWith("/")) return [prefix];
  let out: string;
  if (prefix.endsWith("/")) {
    const r = resolvedPath(normalizePath(prefix) ?? prefix, resolve);
    out = r === "/" ? "/" : r + "/";
  } else {
    const cut = prefix.lastIndexOf("/");
    const dir = cut === 0 ? "/" : prefix.slice(0, cut);
    const r = resolvedPath(normalizePath(dir) ?? dir, resolve);
    out = (r === "/" ? "" : r) + prefix.slice(cut);
  }
  return out === prefix ? [prefix] : [prefix, out];
}

/**
 * A path glob and, when it differs, the glob with its literal leading directories resolved
 * (`/var/run/*.sock` -> `/run/*.sock`). Only the components before the first one holding a
 * glob character (or an escape) are resolved; a glob without a leading literal directory, or
 * a relative one (a name glob that matches under any directory), stays as written.
 */
export function globForms(glob: string, resolve?: PathResolver): string[] {
  if (!resolve || !glob.startsWith("/")) return [glob];
  const parts = glob.split("/");
  let n = 1;
  while (n < parts.length - 1 && !/[*?[\]{}\\!]/.test(parts[n])) n++;
  if (n === parts.length - 1 && !/[*?[\]{}\\!]/.test(parts[n])) n = parts.length; // all literal
  if (n <= 1) return [glob];
  const dir = parts.slice(0, n).join("/");
  const r = resolvedPath(normalizePath(dir) ?? dir, resolve);
  if (r === dir || /[*?[\]{}\\!]/.test(r)) return [glob];
  const rest = parts.slice(n).join("/");
  return [glob, rest ? `${r === "/" ? "" : r}/${rest}` : r];
}

/**
 * Whether a root written with variables is resolved after substitution (per request): every
 * template except one bare variable, optionally followed by a slash.
 */
export function resolvesAfterSubstitution(text: string): boolean {
  return text.includes("${") && !/^\s*\$\{[^}]*\}\/?\s*$/.test(text);
}
