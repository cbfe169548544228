/**
 * A URL as the audit log may hold it. A `net.fetch` is decided on the URL as asked, but a URL
 * can carry a secret (a token in the query string, in userinfo, percent-encoded, in the path):
 * the live policy's output rules on `http.request` (the ones that refuse such a request) are
 * applied to it first, and what they find is redacted in the audited form. A finding of a
 * `deny` rule, or one that redaction cannot remove, withholds everything after the origin; a
 * secret in the host itself withholds the whole URL. A policy without rules on `http.request`
 * costs nothing: the URL is audited as asked.
 * @module
 */
import type { CompiledPolicy } from "../../governance/mod.ts";
import { outputRulesOf } from "../../governance/outputs/mod.ts";

/**
 * The last answer, by policy and URL: one request's URL is audited more than once (the
 * `net.fetch` decision, then the request check's own entries), and it is scanned once. A new
 * policy object (a reload) never reuses an answer.
 */
let last: { policy: CompiledPolicy; url: string; shown: string } | undefined;

/** `url` as the audit log may hold it (see the module comment). Never throws. */
export function auditedUrl(policy: CompiledPolicy, url: string): string {
  if (last !== undefined && last.policy === policy && last.url === url) return last.shown;
  let shown: string;
  try {
    shown = redacted(policy, url);
  } catch {
    // A check that fails keeps nothing of the URL (fail closed): the audit write goes on.
    shown = "[withheld: the output rules could not check the URL]";
  }
  last = { policy, url, shown };
  return shown;
}

function redacted(policy: CompiledPolicy, url: string): string {
  const rules = outputRulesOf(policy);
  if (rules.idle("http.request")) return url;
  const clean = (u: string) =>
    rules.check("http.request", { url: u, headers: {}, body: null }).effect === "allow";
  const v = rules.check("http.request", { url, headers: {}, body: null });
  if (v.effect === "allow") return url;
  const marker = `[withheld: output rule ${v.rule ?? "scan limit"}]`;
  const shown = v.effect === "redact" ? (v.value as { url?: unknown }).url : undefined;
  let origin: string | null = null;
  try {
    const u = new URL(url);
    if (u.host !== "") origin = `${u.protocol}//${u.host}/`;
  } catch { /* not a URL: no origin to keep */ }
  // The redacted form when it is clean and still names the origin asked for.
  if (
    typeof shown === "string" && clean(shown) && (origin === null || shown.startsWith(origin))
  ) return shown;
  if (origin !== null && clean(origin + marker)) return origin + marker;
  return marker;
}
