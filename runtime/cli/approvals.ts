/**
 * `deno task approvals list | approve <id> [--hash H] | deny <id> [--hash H]` against a running
 * host's control plane ($WARDEN_API, default http://127.0.0.1:7420; token from $WARDEN_TOKEN or
 * <warden home>/api-token). `list` shows each parked request's canonical arguments (redacted
 * per policy) and the hash a decision is bound to. `approve`/`deny` send the given hash, or
 * else print the request as the host shows it now and send that request's hash, after checking
 * that the hash is the sha-256 of the canonical text shown.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { wardenHome } from "../state.ts";

const USAGE = "usage: deno task approvals list | approve <id> [--hash H] | deny <id> [--hash H]";
const api = Deno.env.get("WARDEN_API") ?? "http://127.0.0.1:7420";

interface Shown {
  id: string;
  hash: string;
  agent: { name: string };
  action: string;
  resource: string;
  reason: string;
  expiresAt: string;
  canonical: string;
  args: Record<string, unknown>;
  redacted: string[];
}

/**
 * Terminal-safe text: control characters (ANSI escapes, carriage returns) and invisible or
 * direction-changing characters are shown as `\u{…}`, so an agent cannot make the text an
 * approver reads differ from the request (hide a command, reorder it, overwrite a line).
 */
function visible(s: string): string {
  return s.replace(
    /[\p{Cc}\p{Cf}\u2028\u2029]/gu,
    (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`,
  );
}

function describe(p: Shown): string {
  const head = `${p.id}  ${p.agent.name}  ${p.action} ${p.resource}  (${p.reason}; expires ` +
    `${p.expiresAt})`;
  return [
    head,
    `  args: ${JSON.stringify(sorted(p.args))}`,
    ...(p.redacted.length ? [`  redacted: ${p.redacted.join(", ")}`] : []),
    `  hash: ${p.hash}`,
  ].map(visible).join("\n");
}

/** Keys in canonical (sorted) order, as the hash sees them. */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, sorted(o[k])]));
}

function parse(args: string[]): { cmd: string; id?: string; hash?: string } | null {
  const [cmd, ...rest] = args;
  if (cmd === "list") return rest.length === 0 ? { cmd } : null;
  if (cmd !== "approve" && cmd !== "deny") return null;
  const [id, ...more] = rest;
  if (!id || id.startsWith("-")) return null;
  if (more.length === 0) return { cmd, id };
  if (more.length === 2 && more[0] === "--hash") return { cmd, id, hash: more[1] };
  return null;
}

async function main(): Promise<number> {
  const a = parse(Deno.args);
  if (!a) {
    console.error(USAGE);
    return 2;
  }
  let token = Deno.env.get("WARDEN_TOKEN");
  try {
    token ??= Deno.readTextFileSync(join(wardenHome(), "api-token")).trim();
  } catch {
    console.error(
      "no token: set WARDEN_TOKEN or start `deno task host` (it writes <warden home>/api-token)",
    );
    return 1;
  }
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const call = async (path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${api}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const j = await res.json().catch(() => ({ error: res.statusText }));
    if (!res.ok) throw new Error(`${res.status}: ${(j as { error?: string }).error}`);
    return j;
  };
  try {
    const pending = await call("/api/approvals") as Shown[];
    if (a.cmd === "list") {
      if (pending.length === 0) console.log("no pending approvals");
      for (const p of pending) console.log(describe(p));
      return 0;
    }
    const p = pending.find((x) => x.id === a.id);
    if (p) {
      const own = createHash("sha256").update(p.canonical).digest("hex");
      if (own !== p.hash) {
        throw new Error(`the host's hash for ${p.id} is not that of the request it shows`);
      }
      console.log(describe(p));
    } else if (a.hash === undefined) throw new Error(`404: no such pending approval`);
    const hash = a.hash ?? p!.hash;
    await call(`/api/approvals/${encodeURIComponent(a.id!)}/${a.cmd}`, { hash });
    console.log(`${a.cmd === "approve" ? "approved" : "denied"} ${a.id}`);
    return 0;
  } catch (e) {
    console.error(e instanceof TypeError ? `${api}: ${e.message}` : (e as Error).message);
    return 1;
  }
}

Deno.exit(await main());
