/**
 * The control plane: a Hono HTTP API over a running host, on 127.0.0.1 by default. Bearer
 * tokens carry roles (viewer < operator < admin); every mutating endpoint needs operator or
 * admin; bodies are zod-validated and size-limited; every operator action is audited with the
 * token's name.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import type { Context, Next } from "hono";
import type { AuditEntry } from "../../governance/audit/mod.ts";
import type { AgentHost } from "../host.ts";
import { operatorSubject } from "../governor.ts";
import type { ApprovalQueue } from "../approvals/queue.ts";
import type { VerifyResult } from "../audit/verify.ts";
import type { FleetView } from "../fleet/directory.ts";
import { inWorker } from "./offload.ts";
import { loadPolicy } from "../policy/loader.ts";
import { authorizeStart, RANK, type Role, StartBody } from "./roles.ts";
import { ringBudgets } from "../../governance/rings/mod.ts";
import { PolicyValidator, type ValidatorOptions } from "./validate.ts";
import { memoryRoutes } from "./memory_routes.ts";

export type { Role };

const VERIFY_WORKER = new URL("./verify_worker.ts", import.meta.url);

/** An API token: its secret, a name for the audit log, and a role. */
export interface ApiToken {
  token: string;
  name: string;
  role: Role;
}

export interface ControlPlaneOptions {
  tokens: ApiToken[];
  approvals: ApprovalQueue;
  /** Policy paths for `POST /api/policy/reload`. */
  policyPaths: string[];
  /** Largest request body (bytes). */
  maxBody?: number;
  /** The console page (HTML), served at `/`. */
  consoleHtml?: string;
  /** Directories operators may start agent modules from (admins: anywhere). None by default. */
  agentRoots?: string[];
  /** Deadline and queue of `POST /api/policy/validate` (a Worker compiles). */
  validation?: ValidatorOptions;
  /**
   * Fleet mode: issue a revocation for an agent on any host (runtime/fleet/revocations.ts);
   * resolves with its stream position. Without it a kill reaches only this host's agents.
   */
  revoke?: (
    kind: "agent_kill" | "agent_ban",
    target: string,
    reason: string,
    by: string,
  ) => Promise<number>;
  /**
   * Fleet mode: hosts and agents across the fleet (`GET /api/fleet`), and `GET /api/audit`
   * answered from every host's shipped entries (runtime/fleet/directory.ts).
   */
  fleet?: FleetView;
  /**
   * Fleet mode with a policy channel: `POST /api/policy/reload` fetches and applies the
   * channel's bundle again instead of loading `policyPaths` (runtime/fleet/bundles.ts).
   */
  fleetReload?: (by: string) => Promise<{ ok: boolean; message: string }>;
}

/** The body of `POST /api/agents/:id/{kill,stop}`. */
export const ReasonBody = z.strictObject({
  reason: z.string().min(1).max(1024).default("operator request"),
  /** kill only, fleet mode: also refuse the agent's starts on every host (`agent_ban`). */
  ban: z.boolean().optional(),
});
/** The body of `POST /api/agents/:id/ring`. */
export const RingBody = z.strictObject({ ring: z.number().int().min(0).max(3) });
/** The body of `POST /api/policy/validate`. */
export const PolicyText = z.strictObject({
  text: z.string().max(1 << 20),
  path: z.string().max(256).default("<api>"),
});
/** An approver's decision carries the hash of the canonical request they were shown. */
export const DecideBody = z.strictObject({
  hash: z.string({ error: "required: the hash shown with the approval" }).regex(
    /^[0-9a-f]{64}$/,
    "expected the 64-hex sha-256 shown with the approval",
  ),
});

type Vars = { Variables: { who: ApiToken } };

export function controlPlane(host: AgentHost, o: ControlPlaneOptions): Hono<Vars> {
  const app = new Hono<Vars>();
  const byToken = new Map(o.tokens.map((t) => [t.token, t]));
  const validator = new PolicyValidator(o.validation);
  let verifying: Promise<VerifyResult> | null = null;

  app.onError((e, c) => c.json({ error: e instanceof Error ? e.message : String(e) }, 500));
  app.notFound((c) => c.json({ error: "not found" }, 404));
  app.use(
    "*",
    bodyLimit({
      maxSize: o.maxBody ?? 64 * 1024,
      onError: (c) => c.json({ error: "request body too large" }, 413),
    }),
  );
  if (o.consoleHtml) app.get("/", (c) => c.html(o.consoleHtml!));

  const auth = (role: Role) => async (c: Context<Vars>, next: Next) => {
    const h = c.req.header("authorization") ?? "";
    const m = /^Bearer (.+)$/.exec(h);
    const who = m ? byToken.get(m[1]) : undefined;
    if (!who) {
      return c.json({ error: "authentication required (Authorization: Bearer <token>)" }, 401);
    }
    c.set("who", who);
    if (RANK[who.role] < RANK[role]) {
      const why = `the ${who.role} role may not do this (needs ${role})`;
      audit(c, "refused", `${c.req.method} ${c.req.path}`.slice(0, 512), why, "deny");
      return c.json({ error: why }, 403);
    }
    await next();
  };
  const body = async <T extends z.ZodType>(
    c: Context<Vars>,
    schema: T,
  ): Promise<z.infer<T> | Response> => {
    let raw: unknown = {};
    const text = await c.req.text();
    if (text.trim() !== "") {
      try {
        raw = JSON.parse(text);
      } catch {
        return c.json({ error: "malformed JSON body" }, 400);
      }
    }
    const r = schema.safeParse(raw);
    if (!r.success) {
      const i = r.error.issues[0];
      return c.json({ error: `invalid body: ${i.path.join(".") || "body"}: ${i.message}` }, 400);
    }
    return r.data;
  };
  const audit = (
    c: Context<Vars>,
    action: string,
    resource: string,
    reason: string,
    effect: "allow" | "deny" = "allow",
  ) =>
    host.governor.record(operatorSubject(c.get("who").name, c.get("who").role), {
      path: "host",
      action: `operator.${action}`,
      resource,
    }, {
      effect,
      rule: null,
      reason: `${c.get("who").name} (${c.get("who").role}): ${reason}`,
    });

  // Agents
  app.get(
    "/api/agents",
    auth("viewer"),
    (c) =>
      c.json(
        host.agents().map((h) => ({
          id: h.id,
          name: h.name,
          ring: h.ref.ring,
          trust: Math.round(h.ref.trust),
          pid: h.pid,
          codeDigest: h.codeDigest,
          state: h.killReason ? "killing" : "running",
        })),
      ),
  );
  app.post("/api/agents", auth("operator"), async (c) => {
    const b = await body(c, StartBody);
    if (b instanceof Response) return b;
    const ok = authorizeStart(c.get("who").role, b, {
      agentRoots: o.agentRoots ?? [],
      running: host.agents().map((h) => h.name),
      ringMemory: (ring) => ringBudgets(host.governor.rings.doc.budgets, ring).memoryBytes,
    });
    if ("refused" in ok) {
      audit(c, "start", b.module.slice(0, 512), `refused: ${ok.refused}`, "deny");
      return c.json(
        { error: ok.refused },
        ok.refused.startsWith("agent module not found") ? 404 : 403,
      );
    }
    let h;
    try {
      h = await host.start({ ...ok.spec, stdio: "null" });
    } catch (e) {
      const why = (e instanceof Error ? e.message : String(e)).split("\n")[0];
      audit(c, "start", b.module.slice(0, 512), `failed: ${why}`, "deny");
      return c.json({ error: why }, why.startsWith("agent module not found") ? 404 : 422);
    }
    audit(c, "start", ok.spec.module, `started ${h.name} (${h.id}) at ring ${h.ref.ring}`);
    return c.json({ id: h.id, name: h.name, pid: h.pid }, 201);
  });
  for (const verb of ["kill", "stop"] as const) {
    app.post(`/api/agents/:id/${verb}`, auth("operator"), async (c) => {
      const b = await body(c, ReasonBody);
      if (b instanceof Response) return b;
      const id = c.req.param("id") ?? "";
      const h = host.get(id);
      if (b.ban && (verb !== "kill" || !o.revoke)) {
        return c.json({ error: "ban: only a kill in fleet mode (--fleet) can ban" }, 400);
      }
      // Fleet mode: an agent on another host (or a ban) goes through the revocation stream.
      if (verb === "kill" && o.revoke && (!h || b.ban)) {
        const kind = b.ban ? "agent_ban" : "agent_kill";
        let pos: number;
        try {
          pos = await o.revoke(kind, h?.id ?? id.slice(0, 512), b.reason, c.get("who").name);
        } catch (e) {
          const why = (e as Error).message.split("\n")[0];
          audit(c, verb, id.slice(0, 128), `refused: ${why}`, "deny");
          return c.json({ error: why }, 503);
        }
        audit(c, verb, id.slice(0, 128), `${kind} #${pos}: ${b.reason}`);
        if (!h) return c.json({ revocation: pos, kind }, 202);
      }
      if (!h) return c.json({ error: "unknown agent" }, 404);
      audit(c, verb, h.id, b.reason);
      const exit = await h.kill(
        `${verb === "stop" ? "stopped" : "killed"} by ${c.get("who").name}: ${b.reason}`,
      );
      return c.json(exit);
    });
  }
  app.post("/api/agents/:id/ring", auth("admin"), async (c) => {
    const b = await body(c, RingBody);
    if (b instanceof Response) return b;
    const h = host.get(c.req.param("id") ?? "");
    if (!h) return c.json({ error: "unknown agent" }, 404);
    const from = h.ref.ring;
    audit(c, "ring", h.id, `ring ${from} -> ${b.ring}`);
    // The host's one ring change: audited, and the process restarted under the new ceiling.
    let live;
    try {
      live = await host.setRing(h.id, b.ring as 0 | 1 | 2 | 3, "operator", c.get("who").name);
    } catch (e) {
      return c.json({ error: e instanceof Error ? e.message : String(e) }, 409);
    }
    return c.json({ id: live.id, ring: live.ref.ring, pid: live.pid });
  });

  // Policy
  app.get("/api/policy", auth("viewer"), (c) => {
    const p = host.governor.policy;
    return c.json({
      names: p.names,
      sources: p.sources,
      rules: p.rules.length,
      default: p.defaultEffect,
    });
  });
  app.post("/api/policy/validate", auth("operator"), async (c) => {
    const b = await body(c, PolicyText);
    if (b instanceof Response) return b;
    // Off the event loop, with a deadline: agents' decisions go on meanwhile.
    const v = await validator.validate(b.text, b.path);
    if ("refused" in v) {
      audit(c, "policy.validate", b.path, `refused: ${v.refused}`, "deny");
      return c.json({ ok: false, error: v.refused }, v.status);
    }
    return c.json(v);
  });
  app.post("/api/policy/reload", auth("admin"), async (c) => {
    if (o.fleetReload) {
      const f = await o.fleetReload(`api:${c.get("who").name}`);
      audit(c, "policy.reload", "fleet", f.message, f.ok ? "allow" : "deny");
      return c.json(
        f.ok ? { ok: true, fleet: f.message } : { ok: false, problems: [f.message] },
        f.ok ? 200 : 409,
      );
    }
    const r = host.delivery.reload(() => loadPolicy(o.policyPaths, { builtin: true }));
    audit(
      c,
      "policy.reload",
      o.policyPaths.join(","),
      r.ok ? "reloaded" : `refused: ${r.problems[0]}`,
      r.ok ? "allow" : "deny",
    );
    return c.json(r, r.ok ? 200 : 422);
  });
  app.get("/api/policy/shadow", auth("viewer"), (c) => c.json(host.delivery.status()));

  // Audit
  const Query = z.object({
    agent: z.string().optional(),
    action: z.string().optional(),
    effect: z.enum(["allow", "deny", "require_approval"]).optional(),
    since: z.string().datetime().optional(),
    until: z.string().datetime().optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(200),
  });
  app.get("/api/audit", auth("viewer"), async (c) => {
    const q = Query.safeParse(c.req.query());
    if (!q.success) {
      return c.json({
        error: `invalid query: ${q.error.issues[0].path.join(".")}: ${q.error.issues[0].message}`,
      }, 400);
    }
    const { agent, action, effect, since, until, limit } = q.data;
    if (o.fleet && c.req.query("scope") !== "local") {
      try {
        return c.json(await o.fleet.audit({ agent, action, effect, since, until, limit }));
      } catch (e) {
        // The database is away: this host's own entries, and a header saying so.
        c.header("x-warden-audit-scope", `local: ${(e as Error).message}`.slice(0, 300));
      }
    }
    const out = host.audit.recent.filter((e) =>
      (!agent || e.agent.name === agent || e.agent.id === agent) &&
      (!action || e.action === action) &&
      (!effect || e.effect === effect) && (!since || e.ts >= since) && (!until || e.ts <= until)
    );
    return c.json(out.slice(-limit));
  });
  app.get("/api/fleet", auth("viewer"), async (c) => {
    if (!o.fleet) return c.json({ error: "this host is not in a fleet (--fleet)" }, 404);
    try {
      return c.json(await o.fleet.overview());
    } catch (e) {
      return c.json({ error: (e as Error).message }, 503);
    }
  });
  app.get("/api/audit/verify", auth("viewer"), async (c) => {
    if (!host.audit.path) {
      return c.json({ ok: false, problem: "this host keeps its audit log in memory only" });
    }
    await host.audit.flush();
    // Verifying re-hashes the whole log: in a Worker, one at a time (callers meanwhile share
    // the run in flight), so a long log — polled by every console — never stalls decisions.
    verifying ??= inWorker<VerifyResult>(VERIFY_WORKER, { path: host.audit.path }, 300_000)
      .finally(() => (verifying = null));
    try {
      return c.json(await verifying);
    } catch (e) {
      return c.json({ ok: false, problem: `cannot verify: ${(e as Error).message}` }, 503);
    }
  });
  app.get("/api/audit/stream", auth("viewer"), (c) =>
    streamSSE(c, async (stream) => {
      const queue: AuditEntry[] = [];
      let wake: (() => void) | null = null;
      const off = host.audit.subscribe((e) => {
        queue.push(e);
        wake?.();
      });
      stream.onAbort(() => {
        off();
        wake?.();
      });
      while (!stream.aborted) {
        if (queue.length === 0) await new Promise<void>((r) => (wake = r));
        wake = null;
        while (queue.length) {
          await stream.writeSSE({ event: "decision", data: JSON.stringify(queue.shift()) });
        }
      }
      off();
    }));

  // Approvals
  // The parked requests' arguments (which the audit log keeps only as digests): approvers only.
  app.get("/api/approvals", auth("operator"), async (c) => {
    try {
      return c.json(await o.approvals.listAll());
    } catch (e) {
      return c.json({ error: (e as Error).message.split("\n")[0] }, 503);
    }
  });
  for (const verb of ["approve", "deny"] as const) {
    app.post(`/api/approvals/:id/${verb}`, auth("operator"), async (c) => {
      const b = await body(c, DecideBody);
      if (b instanceof Response) return b;
      const id = c.req.param("id") ?? "";
      let r;
      try {
        r = await o.approvals.decideAny(
          id,
          verb === "approve" ? "approved" : "denied",
          c.get("who").name,
          b.hash,
        );
      } catch (e) {
        return c.json({ error: (e as Error).message.split("\n")[0] }, 503);
      }
      if (r === "ok") return c.json({ ok: true });
      const why = r === "unknown"
        ? "no such pending approval"
        : r === "decided"
        ? "this approval was already decided (or expired)"
        : "the hash is not the one shown with this approval: re-read the request and decide again";
      audit(c, verb, id.slice(0, 128), `refused: ${why}`, "deny");
      return c.json({ error: why }, r === "unknown" ? 404 : 409);
    });
  }

  // Memory quarantine review (memory_routes.ts)
  memoryRoutes(app, host, auth("operator"), audit);

  // Trust, sagas, plugins, SRE
  app.get(
    "/api/trust",
    auth("viewer"),
    (c) =>
      c.json(
        host.agents().map((h) => ({
          id: h.id,
          name: h.name,
          trust: h.ref.trust,
          ring: h.ref.ring,
        })),
      ),
  );
  app.get("/api/sagas", auth("viewer"), async (c) => c.json(await host.sagas.list()));
  app.get("/api/sre", auth("viewer"), (c) => c.json(host.sre.status()));
  app.get(
    "/api/plugins",
    auth("viewer"),
    (c) =>
      c.json(
        host.agents().filter((h) => h.name.startsWith("plugin-")).map((h) => ({
          name: h.name.slice(7),
          pid: h.pid,
          ring: h.ref.ring,
        })),
      ),
  );

  // Prometheus metrics
  app.get("/metrics", auth("viewer"), (c) => {
    const counts = new Map<string, number>();
    for (const e of host.audit.recent) {
      const k = `${e.path}|${e.effect}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const lines = [
      "# HELP warden_agents_running Agents running now.",
      "# TYPE warden_agents_running gauge",
      `warden_agents_running ${host.agents().length}`,
      "# HELP warden_audit_entries Entries in the audit chain.",
      "# TYPE warden_audit_entries counter",
      `warden_audit_entries ${host.audit.size}`,
      "# HELP warden_pending_approvals Operations waiting for a human.",
      "# TYPE warden_pending_approvals gauge",
      `warden_pending_approvals ${o.approvals.list().length}`,
      "# HELP warden_recent_decisions Recent decisions by path and effect.",
      "# TYPE warden_recent_decisions gauge",
      ...[...counts].map(([k, n]) => {
        const [path, effect] = k.split("|");
        return `warden_recent_decisions{path="${path}",effect="${effect}"} ${n}`;
      }),
    ];
    return c.text(lines.join("\n") + "\n", 200, { "content-type": "text/plain; version=0.0.4" });
  });
  return app;
}
