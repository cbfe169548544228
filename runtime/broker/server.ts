/**
 * The permission broker: one unix socket per agent. Deno sends every permission check the
 * agent process makes as a JSON line; each is mapped, decided and audited by the governor
 * (`decide`, the synchronous form of `authorize`: the entry is on disk when it returns; a
 * `require_approval` cannot wait here and is a deny), and answered. Only the first connection is served (the agent's Deno runtime); anything else
 * that connects is closed at once.
 */
import { type AgentRef, answeredAsUnset, type Governor, type Ruling } from "../governor.ts";
import { type Mapped, mapPermission } from "./map.ts";
import { parseBrokerLine } from "./parse.ts";
import { OneConnectionSocket, TokenBucket } from "../gateway/unix_socket.ts";
import { RUNTIME_ENV_NAMES } from "../supervisor/spawn.ts";

export interface BrokerOptions {
  path: string;
  agent: AgentRef;
  governor: Governor;
  /** The agent process id (known once spawned). */
  pid: () => number | undefined;
  /** The agent's temp directory (its TMPDIR): where Deno's `<TMP>` placeholder points. */
  tmp?: string;
  /**
   * The launcher pins the agent's working directory to its workspace (seccomp: chdir, fchdir
   * and chroot fail), so relative paths resolve against it with no `/proc/<pid>/cwd` lookup.
   */
  cwdPinned?: boolean;
  /**
   * Whether the kernel keeps the workspace and its ancestors from being renamed or replaced
   * (`fixesWorkspace` in map.ts): paths below it then resolve component by component. Asked
   * once, at the first check (the agent's kernel rules are final by then).
   */
  cwdFixed?: () => boolean;
  /**
   * Names in the agent process's environment. A denied read of any other name is answered as
   * an unset variable (Deno reads nothing), audited as a deny (see `answeredAsUnset`).
   */
  envNames?: ReadonlySet<string>;
  /**
   * The agent's `node:fs` answers a refused read like the OS (`existsSync` false, an EACCES
   * error: the bootstrap's "node" mode). Its `fs.read` checks carry `args.compatible`: denied
   * by no rule with a severity, such a refusal is no violation (see `answeredCompatibly`).
   */
  compatibleReads?: boolean;
  /** Permission checks allowed once each before the agent's code loads ("perm value"). */
  bootstrap: string[];
  /** Called when the agent's Deno runtime disconnects or misbehaves. */
  onClose?: (why: string) => void;
  /**
   * Permission checks per second (a token bucket holding one second's worth). Past it the
   * broker stops reading the socket until tokens return: the agent waits, nothing is refused,
   * and the audit grows no faster than this.
   */
  rate?: number;
}

const encoder = new TextEncoder();

export class BrokerServer {
  readonly path: string;
  #socket: OneConnectionSocket;
  #bootstrap: Map<string, number>;
  #closed = false;
  /** Number of checks answered. */
  checks = 0;
  #bucket: TokenBucket | null;
  #cwdFixed: boolean | undefined;

  constructor(readonly opts: BrokerOptions) {
    this.path = opts.path;
    this.#bootstrap = new Map(opts.bootstrap.map((k) => [k, 1]));
    this.#bucket = opts.rate ? new TokenBucket(opts.rate, opts.rate) : null;
    this.#socket = new OneConnectionSocket(opts.path, (conn) => this.#serve(conn));
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const decoder = new TextDecoder();
    let buf = "";
    const chunk = new Uint8Array(16384);
    const out = new Uint8Array(16384);
    let why = "agent runtime disconnected";
    try {
      while (true) {
        const n = await conn.read(chunk);
        if (n === null) break;
        buf += decoder.decode(chunk.subarray(0, n), { stream: true });
        if (buf.length > 1 << 20) {
          why = "broker protocol violation: line longer than 1 MiB";
          break;
        }
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim() === "") continue;
          // Nothing is answered before the host has finished placing the process (its cgroup):
          // no agent code can load before its first check is answered.
          if (this.#gate) {
            const ok = await this.#gate.then(() => true, () => false);
            this.#gate = null;
            if (!ok) {
              why = "the agent could not be placed in its cgroup";
              throw new Error(why);
            }
          }
          if (this.#bucket && !this.#bucket.take()) await this.#throttle(); // no await when a token is there
          const reply = this.#handle(line);
          if (reply === null) {
            why = "broker protocol violation: malformed check";
            throw new Error(why);
          }
          // One reusable buffer for the answer (each is written whole before the next line).
          const { read, written } = encoder.encodeInto(reply, out);
          await writeAll(
            conn,
            read === reply.length ? out.subarray(0, written) : encoder.encode(reply),
          );
        }
      }
    } catch { /* fall through to close */ }
    try {
      conn.close();
    } catch { /* already closed */ }
    this.opts.onClose?.(why);
  }

  /** Wait for a token of the rate limit (meanwhile nothing more is read from the socket). */
  async #throttle(): Promise<void> {
    const bucket = this.#bucket;
    if (!bucket) return;
    while (!this.#closed) {
      if (bucket.take()) return;
      await new Promise((r) => setTimeout(r, bucket.wait()));
    }
  }

  /** Decide one check; null when the line is not a valid check. */
  #handle(line: string): string | null {
    const parsed = parseBrokerLine(line);
    if (parsed === null) return null;
    this.checks++;
    const { agent, governor } = this.opts;
    if (this.#closed) {
      return JSON.stringify({ id: parsed.id, result: "deny", reason: "agent is being stopped" }) +
        "\n";
    }
    const key = `${parsed.permission} ${parsed.value}`;
    const left = this.#bootstrap.get(key);
    if (left) {
      this.#bootstrap.set(key, left - 1);
      const ruling = governor.record(agent, {
        path: "broker",
        action: `bootstrap.${parsed.permission}`,
        resource: parsed.value ?? "*",
      }, {
        effect: "allow",
        rule: null,
        reason: "host bootstrap: SDK channel setup before agent code loads",
      });
      return JSON.stringify({ id: parsed.id, result: "allow", reason: `audit #${ruling.seq}` }) +
        "\n";
    }
    const pid = this.opts.pid() ?? parsed.pid;
    const m = mapPermission(
      parsed,
      {
        code: agent.code,
        sdk: agent.sdk,
        cwd: agent.workspace,
        tmp: this.opts.tmp,
        cwdPinned: this.opts.cwdPinned,
        cwdFixed: this.#cwdFixed ??= this.opts.cwdFixed?.() ?? false,
        store: agent.store,
      },
      pid,
    );
    const names = this.opts.envNames;
    if (names && m.action === "env.get" && m.resource !== "*" && !names.has(m.resource)) {
      m.args.unset = true; // nothing to read: a denial can look like an unset variable
    }
    if (names && m.action === "env.get" && m.resource === "*") m.args.enumeration = true;
    if (this.opts.compatibleReads && m.action === "fs.read") m.args.compatible = true;
    let decided = m;
    let ruling = this.#decide(m);
    if (ruling.effect === "allow" && m.also) ruling = this.#decide(decided = m.also);
    // Only a refusal pays for the compatible-answer check (the allow path allocates nothing more).
    if (
      ruling.effect !== "allow" && (m.args.unset || m.args.enumeration) && answeredAsUnset(
        { path: "broker", action: m.action, resource: m.resource, args: m.args },
        governor.severityOf(ruling.rule),
      )
    ) {
      if (m.args.unset) {
        // Deno may look: the variable is not in the process's environment: it reads nothing.
        const why = `denied (audit #${ruling.seq}); answered as unset`;
        return JSON.stringify({ id: parsed.id, result: "allow", reason: why }) + "\n";
      }
      // Enumerating the environment reveals every value in it: allowed only when each
      // variable the operator put there is itself allowed (each decided and audited).
      const refused = this.#enumeration(names!);
      if (!refused) {
        const why = `denied (audit #${ruling.seq}); enumeration of allowed variables only`;
        return JSON.stringify({ id: parsed.id, result: "allow", reason: why }) + "\n";
      }
      ruling = refused.ruling;
      decided = refused.mapped;
    }
    if (ruling.effect === "allow") return allowAnswer(parsed.id, ruling.seq);
    const reason =
      `Warden denied ${decided.action} ${decided.resource}: ${ruling.reason} (audit #${ruling.seq})`;
    return JSON.stringify({ id: parsed.id, result: "deny", reason }) + "\n";
  }

  /** Decide each operator-given variable an enumeration would reveal; the first refusal. */
  #enumeration(names: ReadonlySet<string>): { ruling: Ruling; mapped: Mapped } | null {
    for (const name of names) {
      if (RUNTIME_ENV_NAMES.has(name)) continue; // the runtime's plumbing: no operator value
      const mapped: Mapped = {
        action: "env.get",
        resource: name,
        args: { permission: "env", value: null, enumerated: true },
      };
      const ruling = this.#decide(mapped);
      if (ruling.effect !== "allow") return { ruling, mapped };
    }
    return null;
  }

  /** Decide (or, when the check names no decidable path, refuse) and audit one mapped check. */
  #decide(m: Mapped): Ruling {
    const { agent, governor } = this.opts;
    const ask = { path: "broker" as const, action: m.action, resource: m.resource, args: m.args };
    if (m.refuse) {
      return governor.record(agent, ask, { effect: "deny", rule: null, reason: m.refuse });
    }
    // `unset`: the variable is not in the agent's environment (see envNames); `enumerated`:
    // decided as part of an enumeration of the environment.
    const extra = m.args.unset === true
      ? { unset: true }
      : m.args.enumerated === true
      ? { enumerated: true }
      : undefined;
    return governor.decide(agent, ask, extra);
  }

  #gate: Promise<void> | null = null;

  /** Answer no check until `ready` settles (a rejection closes the connection unanswered). */
  holdUntil(ready: Promise<void>): void {
    this.#gate = ready;
    ready.catch(() => {}); // observed by #serve
  }

  /** Stop answering: further checks are denied; the socket is closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
  }
}

/**
 * The answer to an allowed check as text: the bytes `JSON.stringify` gives for
 * `{ id, result: "allow", reason: "allowed (audit #seq)" }` (both are non-negative safe
 * integers: nothing to escape), without building the object (tests/perf/broker_fastpath_test.ts).
 */
export function allowAnswer(id: number, seq: number): string {
  return `{"id":${id},"result":"allow","reason":"allowed (audit #${seq})"}\n`;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}
