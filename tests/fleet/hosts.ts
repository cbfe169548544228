/**
 * N real `deno task host --fleet URL …` processes for the fleet tests, each with its own
 * WARDEN_HOME, API port, admin token and fleet host id (`host-<i>`), and a fleet config file.
 */
import { join } from "node:path";
import { pipeLines } from "../../runtime/supervisor/output.ts";
import { freePort } from "../server/host_process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** One running host process. */
export interface FleetHost {
  readonly index: number;
  readonly hostId: string;
  readonly home: string;
  readonly port: number;
  readonly base: string;
  token: string;
  child: Deno.ChildProcess;
  /** Every stderr and stdout line so far. */
  readonly lines: string[];
  /** An authenticated API call (admin token). */
  api(path: string, init?: { method?: string; body?: unknown }): Promise<Response>;
  /** `api` then the JSON body (throws on a non-2xx status, with the body). */
  json<T = unknown>(path: string, init?: { method?: string; body?: unknown }): Promise<T>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGKILL and wait. */
  kill9(): Promise<void>;
  /** Start the process again (same home, port and config). */
  restart(): Promise<void>;
}

/** Options of {@link startHosts}. */
export interface HostsOptions {
  /** The fleet config file's content (hostId is added per host). */
  config?: Record<string, unknown>;
  /** Extra `deno task host` arguments for every host. */
  args?: string[];
  /** Per host: extra arguments. */
  argsOf?: (i: number) => string[];
  /** Per host: the fleet URL (default `url`). */
  urlOf?: (i: number) => string;
  /** How long a host may take to start (default 60 s). */
  startMs?: number;
}

function spawn(h: FleetHost, url: string, args: string[]): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "host", "--port", String(h.port), "--fleet", url, ...args],
    cwd: ROOT,
    env: { WARDEN_HOME: h.home, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  h.child = child;
  const { promise: up, resolve } = Promise.withResolvers<void>();
  pipeLines(child.stdout, (l) => {
    h.lines.push(l);
    if (l.includes("control plane on")) resolve();
  }).catch(() => {});
  pipeLines(child.stderr, (l) => h.lines.push(l)).catch(() => {});
  return up;
}

/** Start `n` hosts on the fleet database at `url`; resolves once all listen. */
export async function startHosts(
  n: number,
  url: string,
  opts: HostsOptions = {},
): Promise<FleetHost[]> {
  const hosts: FleetHost[] = [];
  for (let i = 0; i < n; i++) {
    const home = await Deno.makeTempDir({ prefix: `warden-fleet-${i}-` });
    const hostId = `host-${i}`;
    const cfg = join(home, "fleet-config.json");
    await Deno.writeTextFile(cfg, JSON.stringify({ hostId, ...opts.config }));
    const args = ["--fleet-config", cfg, ...(opts.args ?? []), ...(opts.argsOf?.(i) ?? [])];
    const hostUrl = opts.urlOf?.(i) ?? url;
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const h: FleetHost = {
      index: i,
      hostId,
      home,
      port,
      base,
      token: "",
      child: undefined as unknown as Deno.ChildProcess,
      lines: [],
      async api(path, init = {}) {
        return await fetch(`${base}${path}`, {
          method: init.method ?? (init.body === undefined ? "GET" : "POST"),
          headers: { authorization: `Bearer ${h.token}`, "content-type": "application/json" },
          body: init.body === undefined ? undefined : JSON.stringify(init.body),
        });
      },
      async json<T>(path: string, init?: { method?: string; body?: unknown }) {
        const r = await h.api(path, init);
        const text = await r.text();
        if (!r.ok) throw new Error(`${h.hostId} ${path}: ${r.status} ${text}`);
        return JSON.parse(text) as T;
      },
      async stop() {
        try {
          h.child.kill("SIGTERM");
        } catch { /* gone */ }
        await h.child.status;
      },
      async kill9() {
        try {
          h.child.kill("SIGKILL");
        } catch { /* gone */ }
        await h.child.status;
      },
      async restart() {
        await started(h, spawn(h, hostUrl, args), opts.startMs);
      },
    };
    hosts.push(h);
    await started(h, spawn(h, hostUrl, args), opts.startMs);
  }
  return hosts;
}

async function started(h: FleetHost, up: Promise<void>, ms = 60_000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const exited = h.child.status.then((s) => {
    throw new Error(`${h.hostId} exited (${s.code}) before listening:\n${h.lines.join("\n")}`);
  });
  try {
    await Promise.race([
      up,
      exited,
      new Promise((_, rej) => {
        timer = setTimeout(
          () => rej(new Error(`${h.hostId} did not start:\n${h.lines.join("\n")}`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    exited.catch(() => {});
  }
  h.token = (await Deno.readTextFile(join(h.home, "api-token"))).trim();
}

/** Stop every host and remove its home. */
export async function stopHosts(hosts: FleetHost[]): Promise<void> {
  await Promise.all(hosts.map((h) => h.stop().catch(() => {})));
  for (const h of hosts) await Deno.remove(h.home, { recursive: true }).catch(() => {});
}

/** Poll `check` every 50 ms until it returns a value other than undefined/false (or time out). */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Put agent `name`'s key file from `from`'s keystore into `to`'s, so the agent has the same
 * identity (did) on both hosts: a stand-in for a shared keystore (FLEET.md §11 leaves where
 * keys live when an agent moves undecided).
 */
export async function shareKey(from: FleetHost, to: FleetHost, name: string): Promise<void> {
  const file = `agent-${name}.key.json`; // the key name of runtime/identity/claims.ts
  await Deno.mkdir(join(to.home, "keys"), { recursive: true, mode: 0o700 });
  await Deno.copyFile(join(from.home, "keys", file), join(to.home, "keys", file));
  await Deno.chmod(join(to.home, "keys", file), 0o600);
}
