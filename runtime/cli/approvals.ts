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
import { z } from "zod";
import { wardenHome } from "../state.ts";
import { CliError, type CliSpec, command, runCli, zodProblem } from "./runner.ts";
import { visible } from "./colour.ts";

const api = () => Deno.env.get("WARDEN_API") ?? "http://127.0.0.1:7420";

/** A parked request as the host shows it. */
const Shown = z.looseObject({
  id: z.string(),
  hash: z.string(),
  agent: z.looseObject({ name: z.string() }),
  action: z.string(),
  resource: z.string(),
  reason: z.string(),
  expiresAt: z.string(),
  canonical: z.string(),
  args: z.record(z.string(), z.unknown()),
  redacted: z.array(z.string()),
});
type Shown = z.infer<typeof Shown>;

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

/** A call to the control plane; a reply that is not the JSON expected is one line. */
async function call<T>(path: string, shape: z.ZodType<T>, body?: unknown): Promise<T> {
  let token = Deno.env.get("WARDEN_TOKEN");
  try {
    token ??= Deno.readTextFileSync(join(wardenHome(), "api-token")).trim();
  } catch {
    throw new CliError(
      "no token: set WARDEN_TOKEN or start `deno task host` (it writes <warden home>/api-token)",
    );
  }
  const url = `${api()}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new CliError(`${api()}: ${(e as Error).message}`);
  }
  const text = await res.text();
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    if (!res.ok) throw new CliError(`${res.status}: ${res.statusText}`);
    throw new CliError(`${url}: the reply is not JSON (is WARDEN_API a Warden host?)`);
  }
  if (!res.ok) {
    const err = (j as { error?: unknown })?.error;
    throw new CliError(`${res.status}: ${typeof err === "string" ? err : res.statusText}`);
  }
  const r = shape.safeParse(j);
  if (!r.success) throw new CliError(`${url}: unexpected reply: ${zodProblem(r.error)}`);
  return r.data;
}

async function list(): Promise<number> {
  const pending = await call("/api/approvals", z.array(Shown));
  if (pending.length === 0) console.log("no pending approvals");
  for (const p of pending) console.log(describe(p));
  return 0;
}

async function decide(cmd: "approve" | "deny", id: string, given?: string): Promise<number> {
  const pending = await call("/api/approvals", z.array(Shown));
  const p = pending.find((x) => x.id === id);
  if (p) {
    const own = createHash("sha256").update(p.canonical).digest("hex");
    if (own !== p.hash) {
      throw new CliError(`the host's hash for ${p.id} is not that of the request it shows`);
    }
    console.log(describe(p));
  } else if (given === undefined) throw new CliError(`404: no such pending approval`);
  const hash = given ?? p!.hash;
  await call(`/api/approvals/${encodeURIComponent(id)}/${cmd}`, z.unknown(), { hash });
  console.log(`${cmd === "approve" ? "approved" : "denied"} ${id}`);
  return 0;
}

type D = { values: { hash?: string }; positionals: string[] };
const decision = (cmd: "approve" | "deny") =>
  command({
    args: "<id> [--hash H]",
    options: { hash: { type: "string" } },
    positionals: [1, 1],
    main: ({ values, positionals: [id] }: D) => decide(cmd, id, values.hash),
  });

/** `deno task approvals`. */
export const spec: CliSpec = {
  name: "approvals",
  notes: "the host: $WARDEN_API (default http://127.0.0.1:7420); the token: $WARDEN_TOKEN, " +
    "else <warden home>/api-token",
  subcommands: {
    list: command({ main: list }),
    approve: decision("approve"),
    deny: decision("deny"),
  },
};

if (import.meta.main) await runCli(spec);
