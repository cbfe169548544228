/**
 * Namespaces and keys of agent memory. An agent's own namespace is its did (the default); a
 * shared namespace is a short lower-case ASCII name (`team-a`), usable only where the policy
 * allows it. Anything else — another agent's did, `..`, an empty or huge name, a look-alike in
 * other scripts or widths, upper case — is refused, never mapped onto something else.
 */

/** A shared namespace name: lower-case ASCII letters, digits and `-`, at most 63 characters. */
export const SHARED_NAMESPACE = /^[a-z][a-z0-9-]{0,62}$/;

/** Longest key (characters, all ASCII). */
export const MAX_KEY = 512;

/** One key segment: printable ASCII without `/`, spaces, quotes, `*`, `?` or `\`. */
const SEGMENT = /^[A-Za-z0-9._~:@+=,-]+$/;

/** Where a request's namespace resolves to, or why it may not. */
export type NamespaceResolution =
  | { ok: true; name: string; own: boolean }
  | { ok: false; reason: string; denied: boolean };

/**
 * Resolve the namespace an agent asked for. Omitted: its own (its did). Its own did spelled
 * exactly: its own. Any other did: denied (another agent's private namespace). A shared name:
 * shared (the policy decides). Anything else: invalid.
 */
export function resolveNamespace(agentId: string, asked: string | undefined): NamespaceResolution {
  if (asked === undefined || asked === agentId) return { ok: true, name: agentId, own: true };
  const shown = JSON.stringify(asked.length > 80 ? asked.slice(0, 80) + "…" : asked);
  if (/^did:/i.test(asked.normalize("NFKC"))) {
    return {
      ok: false,
      denied: true,
      reason: `namespace ${shown} is another agent's private namespace`,
    };
  }
  if (!SHARED_NAMESPACE.test(asked)) {
    return {
      ok: false,
      denied: false,
      reason: `invalid namespace ${shown}: expected the agent's own did or a shared name of ` +
        "lower-case ASCII letters, digits and '-' (at most 63)",
    };
  }
  return { ok: true, name: asked, own: false };
}

/** Why a key is not valid (null: it is). Keys are `/`-separated segments of plain ASCII. */
export function keyProblem(key: string): string | null {
  if (key.length === 0) return "empty key";
  if (key.length > MAX_KEY) return `key longer than ${MAX_KEY} characters`;
  for (const seg of key.split("/")) {
    if (seg === "." || seg === ".." || !SEGMENT.test(seg)) {
      return `invalid key ${JSON.stringify(key.slice(0, 80))}: segments of ASCII letters, ` +
        "digits and ._~:@+=,- separated by single '/', no '.' or '..' segment";
    }
  }
  return null;
}

/** Why a key prefix is not valid (null: it is); "" lists everything. */
export function prefixProblem(prefix: string): string | null {
  if (prefix === "") return null;
  // A prefix may end inside a segment or with "/": check it as a key with a filler segment.
  return keyProblem(prefix.endsWith("/") ? prefix + "x" : prefix) === null
    ? null
    : `invalid prefix ${JSON.stringify(prefix.slice(0, 80))}`;
}
