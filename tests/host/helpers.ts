/**
 * Shared setup for host tests: a host with the shipped agents policy (plus built-ins) and ring
 * ceilings, a temp workspace, a secret file outside both the workspace and the agent's code
 * dir, loopback HTTP and TCP listeners that count what reaches them, and helpers to run an
 * agent and inspect its output and audit trail.
 */
import { join } from "node:path";
import type { AuditEntry } from "../../governance/audit/mod.ts";
import {
  type AgentExit,
  type AgentHandle,
  AgentHost,
  type AgentSpec,
  type HostOptions,
} from "../../runtime/host.ts";
import type { AgentRef } from "../../runtime/governor.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { assertEquals } from "../policy/asserts.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Directory of the escape-test agents (their code dir: nothing secret lives here). */
export const ESCAPE_AGENTS = new URL("./agents/escape/", import.meta.url).pathname;

/** An agent as the governor sees it, rooted (workspace, code, sdk) in `dir`; ring 2. */
export function agentIn(dir: string, id = "did:key:z6MkTest", name = "t"): AgentRef {
  return { id, name, ring: 2, trust: 500, labels: {}, workspace: dir, code: dir, sdk: dir };
}

/** Path of one escape agent module. */
export function escapeAgent(name: string): string {
  return join(ESCAPE_AGENTS, name);
}

/** One line an escape agent reports per attempted operation. */
export interface Attempt {
  step: string;
  ok: boolean;
  error?: string;
  message?: string;
  value?: string;
}

/** A finished agent run. */
export interface Run {
  handle: AgentHandle;
  exit: AgentExit;
  stdout: string;
  stderr: string;
  attempts: Attempt[];
  /** The agent printed its completion line. */
  done: boolean;
  /** Audit entries of this agent. */
  audit: AuditEntry[];
}

/** Everything one test needs. */
export interface Ctx {
  host: AgentHost;
  /** Real path of the agent's workspace. */
  workspace: string;
  /** Real path of the directory holding the secret (outside workspace and code dir). */
  secretDir: string;
  /** Real path of the secret file (JSON, so it is importable). */
  secretPath: string;
  /** Unique string inside the secret; it must never reach an agent's output. */
  marker: string;
  /** A scratch directory outside the workspace (targets for outside writes). */
  outsideDir: string;
  /** Loopback HTTP server: its port and how many requests reached it. */
  http: { port: number; requests: () => number };
  /** Loopback TCP listener: its port and how many connections it accepted. */
  tcp: { port: number; accepted: () => number };
  /** Write params.json into the workspace (read by the agents). */
  params(values: Record<string, unknown>): void;
  /** Start an agent, collect its output concurrently, wait for it to exit. */
  run(spec: Omit<AgentSpec, "workspace">): Promise<Run>;
  /** Fail when the marker (or any extra string) appears in the run's output. */
  assertNoLeak(run: Run, extra?: string[]): void;
  /** Fail unless the audit holds a broker deny of `action` on a matching resource. */
  assertDenied(run: Run, action: string, resource?: string | ((r: string) => boolean)): void;
  /** Fail unless every attempt failed and the agent got through all `steps`. */
  assertAllFailed(run: Run, steps: string[]): void;
  /** Start a trivial agent on the same host and check it exits 0. */
  assertHostAlive(): Promise<void>;
}

const ATTEMPT = "ESCAPE-ATTEMPT ";
const DONE = "ESCAPE-DONE";

/** Wait for a started escape agent to end and gather its output, attempts and audit entries. */
export async function collectRun(host: AgentHost, handle: AgentHandle): Promise<Run> {
  const [stdout, stderr, exit] = await Promise.all([
    handle.process.stdout ? new Response(handle.process.stdout).text() : "",
    handle.process.stderr ? new Response(handle.process.stderr).text() : "",
    handle.exited,
  ]);
  return {
    handle,
    exit,
    stdout,
    stderr,
    attempts: parseAttempts(stdout),
    done: stdout.split("\n").includes(DONE),
    audit: host.audit.recent.filter((e) => e.agent.id === handle.id),
  };
}

/** Parse the attempt lines an agent printed. */
export function parseAttempts(stdout: string): Attempt[] {
  return stdout.split("\n")
    .filter((l) => l.startsWith(ATTEMPT))
    .map((l) => JSON.parse(l.slice(ATTEMPT.length)) as Attempt);
}

/** A new host with the shipped policy, built-ins and ring ceilings. */
export function newHost(opts: Partial<HostOptions> = {}): AgentHost {
  return new AgentHost({
    policy: loadPolicy([join(ROOT, "policies/agents.yaml")], { builtin: true }),
    rings: loadRings(),
    ...opts,
  });
}

/** Run `fn` with a host made from `o` (the shipped policy and rings), then close it. */
export async function withHost(
  fn: (host: AgentHost) => Promise<void>,
  o: Partial<HostOptions> = {},
): Promise<void> {
  const host = newHost(o);
  try {
    await fn(host);
  } finally {
    await host.close();
  }
}

/** A run's exit, output and audit trail, for failure messages. */
export function describe(run: Run): string {
  // Long runs (the race) allow thousands of workspace operations: show what matters.
  const shown = run.audit.length <= 60
    ? run.audit
    : run.audit.filter((e) => e.effect !== "allow" || e.path === "host");
  const omitted = run.audit.length - shown.length;
  const audit = shown
    .map((e) => `  ${e.path} ${e.action} ${e.resource} ${e.effect}: ${e.reason}`)
    .join("\n") + (omitted ? `\n  (${omitted} allowed workspace operations omitted)` : "");
  return `exit: ${JSON.stringify(run.exit)}\nstdout:\n${run.stdout}\nstderr:\n${
    run.stderr.slice(0, 4000)
  }\naudit:\n${audit}`;
}

/** Set up a context, run `fn`, and always tear everything down. */
export async function withEscapeHost(fn: (ctx: Ctx) => Promise<void>): Promise<void> {
  const made: string[] = [];
  const tmp = async (prefix: string) => {
    const d = await Deno.realPath(await Deno.makeTempDir({ prefix }));
    made.push(d);
    return d;
  };
  const workspace = await tmp("warden-escape-ws-");
  const secretDir = await tmp("warden-escape-secret-");
  const outsideDir = await tmp("warden-escape-outside-");
  const marker = `ESCAPE-MARKER-${crypto.randomUUID()}`;
  const secretPath = join(secretDir, "secret.json");
  await Deno.writeTextFile(secretPath, JSON.stringify({ marker }) + "\n");

  let requests = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => {
      requests++;
      return new Response(marker);
    },
  );
  let accepted = 0;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const acceptLoop = (async () => {
    try {
      for await (const conn of listener) {
        accepted++;
        try {
          await conn.write(new TextEncoder().encode(marker + "\n"));
        } catch { /* agent gone */ }
        conn.close();
      }
    } catch { /* listener closed */ }
  })();

  const host = newHost();
  const ctx: Ctx = {
    host,
    workspace,
    secretDir,
    secretPath,
    marker,
    outsideDir,
    http: { port: server.addr.port, requests: () => requests },
    tcp: { port: (listener.addr as Deno.NetAddr).port, accepted: () => accepted },
    params(values) {
      Deno.writeTextFileSync(join(workspace, "params.json"), JSON.stringify(values));
    },
    async run(spec) {
      return await collectRun(host, await host.start({ ...spec, workspace }));
    },
    assertNoLeak(run, extra = []) {
      for (const s of [marker, ...extra]) {
        if (run.stdout.includes(s) || run.stderr.includes(s)) {
          throw new Error(
            `LEAK: ${JSON.stringify(s)} reached the agent's output\n${describe(run)}`,
          );
        }
      }
    },
    assertDenied(run, action, resource) {
      const match = (r: string) =>
        resource === undefined ? true : typeof resource === "string" ? r === resource : resource(r);
      const hit = run.audit.some((e) =>
        e.path === "broker" && e.effect === "deny" && e.action === action && match(e.resource)
      );
      if (!hit) {
        throw new Error(
          `no broker deny of ${action} ${
            typeof resource === "string" ? resource : "(matching resource)"
          } in the audit\n${describe(run)}`,
        );
      }
    },
    assertAllFailed(run, steps) {
      const succeeded = run.attempts.filter((a) => a.ok);
      if (succeeded.length > 0) {
        throw new Error(
          `escape attempts succeeded: ${JSON.stringify(succeeded)}\n${describe(run)}`,
        );
      }
      assertEquals(
        run.attempts.map((a) => a.step),
        steps,
        `the agent did not get through its attempts\n${describe(run)}`,
      );
      if (!run.done) throw new Error(`the agent did not finish\n${describe(run)}`);
    },
    async assertHostAlive() {
      const run = await ctx.run({ module: escapeAgent("trivial.ts"), timeoutMs: 30_000 });
      assertEquals(run.exit, { code: 0, signal: null, killed: null }, describe(run));
      if (!run.stdout.includes("trivial agent alive")) {
        throw new Error(`trivial agent printed nothing\n${describe(run)}`);
      }
    },
  };

  try {
    await fn(ctx);
  } finally {
    await host.close();
    listener.close();
    await acceptLoop;
    await server.shutdown();
    for (const d of made) {
      try {
        await Deno.remove(d, { recursive: true });
      } catch { /* best effort */ }
    }
  }
}
