/**
 * Quarantine review in the control plane: operators list the memory entries withheld from
 * readers (with their provenance and why), and release one (it becomes its key's visible
 * entry) or reject it (deleted: no reader ever sees it). Each decision is audited as
 * `operator.memory.release` / `operator.memory.reject` with the entry's content hash.
 *
 *   GET  /api/memory/quarantine[?namespace=NS&limit=N]   operator
 *   POST /api/memory/:id/release                          operator
 *   POST /api/memory/:id/reject                           operator
 * @module
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { AgentHost } from "../host.ts";
import type { StoredEntry } from "../memory/store.ts";
import type { ApiToken } from "./api.ts";

type Vars = { Variables: { who: ApiToken } };

/** One quarantined entry as the API shows it. */
function view(e: StoredEntry) {
  let value: unknown = e.value;
  try {
    value = JSON.parse(e.value);
  } catch { /* not intact: shown as stored */ }
  return {
    id: e.id,
    namespace: e.namespace,
    key: e.key,
    value,
    bytes: e.bytes,
    tags: e.tags,
    provenance: e.provenance,
    note: e.note,
    intact: e.intact,
  };
}

/** Audits an operator action (api.ts's `audit`). */
type Audit = (
  c: Context<Vars>,
  action: string,
  resource: string,
  reason: string,
  effect?: "allow" | "deny",
) => unknown;

/** Add the quarantine review routes to `app` (auth and audit as the other endpoints). */
export function memoryRoutes(
  app: Hono<Vars>,
  host: AgentHost,
  operator: MiddlewareHandler<Vars>,
  audit: Audit,
): void {
  app.get("/api/memory/quarantine", operator, async (c) => {
    const limit = Number(c.req.query("limit") ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      return c.json({ error: "limit: expected an integer 1-1000" }, 400);
    }
    const namespace = c.req.query("namespace") || undefined;
    let list: StoredEntry[];
    try {
      list = await host.memory.store.all({ status: "quarantined", namespace, limit });
    } catch (err) {
      return c.json({ error: `memory store unavailable: ${(err as Error).message}` }, 503);
    }
    return c.json(list.map(view));
  });
  for (const verb of ["release", "reject"] as const) {
    app.post(`/api/memory/:id/${verb}`, operator, async (c) => {
      const raw = c.req.param("id") ?? "";
      const id = Number(raw);
      if (!/^[1-9][0-9]{0,15}$/.test(raw)) return c.json({ error: "expected an entry id" }, 400);
      const who = c.get("who").name;
      let e: StoredEntry;
      try {
        e = verb === "release"
          ? await host.memory.store.release(id, `released by ${who}`)
          : await host.memory.store.reject(id);
      } catch (err) {
        const why = (err as Error).message;
        audit(c, `memory.${verb}`, raw, `refused: ${why}`, "deny");
        // Not found, the store unreachable (fleet database down), or a refusal of the entry.
        const status = /^no memory entry/.test(why) ? 404 : /^fleet database/.test(why) ? 503 : 409;
        return c.json({ error: why }, status);
      }
      audit(
        c,
        `memory.${verb}`,
        `${e.namespace}/${e.key}`.slice(0, 600),
        `${verb === "release" ? "released" : "rejected"} quarantined entry ${e.id} ` +
          `(sha256 ${e.provenance.sha256}, written by ${e.provenance.writer})`,
      );
      return c.json({ ok: true, entry: view({ ...e, status: "visible" }) });
    });
  }
}
