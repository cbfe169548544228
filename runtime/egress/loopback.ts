/**
 * Loopback services of the host: the egress proxy runs in the host's network namespace, so a
 * request for 127.0.0.1 (or a name that resolves there) would reach the host's own services.
 * Such a request goes ahead only when the deciding rule names the host literally (in its
 * resources or its `when:` conditions): a wildcard rule for "any URL" never opens them.
 */
import { isIP } from "node:net";

/** Rules as the compiled policy has them (the fields read here). */
interface RuleView {
  readonly id: string;
  readonly effect: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[] | null;
  readonly match: unknown;
}

const cache = new Map<string, { at: number; loopback: boolean }>();
const TTL_MS = 30_000;

/** Is this address (IPv4/IPv6 literal, brackets allowed) a loopback or unspecified one? */
export function loopbackAddress(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (isIP(h) === 4) return /^(127|0)\./.test(h);
  if (isIP(h) === 6) {
    if (h === "::1" || h === "::") return true;
    const mapped = /^::ffff:(.+)$/.exec(h)?.[1];
    if (!mapped) return false;
    if (isIP(mapped) === 4) return /^(127|0)\./.test(mapped);
    const hi = parseInt(mapped.split(":")[0], 16); // ::ffff:7f00:1
    return (hi >> 8) === 127 || (hi >> 8) === 0;
  }
  return false;
}

/** Does `host` name the host itself: localhost, a loopback address, or a name resolving to one? */
export async function isLoopback(host: string): Promise<boolean> {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase().replace(/\.$/, "");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (isIP(h)) return loopbackAddress(h);
  const hit = cache.get(h);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.loopback;
  const answers = await Promise.all(
    (["A", "AAAA"] as const).map((t) => Deno.resolveDns(h, t).catch(() => [] as string[])),
  );
  const loopback = answers.flat().some(loopbackAddress);
  if (cache.size > 4096) cache.clear();
  cache.set(h, { at: Date.now(), loopback });
  return loopback;
}

/** Does an allow rule for `action` among `rules` name `host` literally? */
export function ruleNamesHost(rules: readonly RuleView[], action: string, host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return rules.some((r) =>
    r.effect === "allow" &&
    r.actions.some((a) =>
      a === action || a === "*" || (a.endsWith("*") && action.startsWith(a.slice(0, -1)))
    ) &&
    ((r.resources ?? []).some((p) => p.toLowerCase().includes(h)) || text(r.match).includes(h))
  );
}

function text(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x) => (x instanceof RegExp ? x.source : x))?.toLowerCase() ?? "";
  } catch {
    return "";
  }
}
