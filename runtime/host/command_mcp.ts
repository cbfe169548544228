/**
 * The MCP gateway of a command agent (`deno task run --command`): the host's tools served over
 * MCP (newline-delimited JSON-RPC 2.0, the stdio transport's framing) on a unix socket in the
 * agent's state directory. The launcher connects to it before confining the program and hands
 * the program that one connection (its descriptor number in `WARDEN_UNIX_FD`): the program
 * itself may create no unix socket. `initialize`, `ping`, `tools/list` and `tools/call`; every
 * call goes through the one tool runner (validate, breaker, authorize, audit) with path `mcp`,
 * so a command agent's tool calls are decided like any other agent's.
 */
import { z } from "zod";
import type { AgentRef, Governor } from "../governor.ts";
import { ToolRefusal, type ToolRunner } from "../executors/runner.ts";
import type { ToolRegistry } from "../executors/tools.ts";
import { TokenBucket } from "../gateway/unix_socket.ts";

/** The longest JSON-RPC message accepted (one line). */
export const MAX_MCP_LINE = 1 << 20;
/** Requests handled at once; more wait in the socket. */
const MAX_IN_FLIGHT = 8;
const PROTOCOL = "2025-06-18";

const Request = z.object({
  jsonrpc: z.literal("2.0"),
  id: z.union([z.string(), z.number()]).optional(),
  method: z.string().max(256),
  params: z.record(z.string(), z.unknown()).optional(),
});

/** What the gateway needs of the host. */
export interface CommandMcpOptions {
  path: string;
  agent: AgentRef;
  governor: Governor;
  tools: ToolRegistry;
  runner: ToolRunner;
  /** Tool calls per second (one second's burst). */
  rate: number;
  /** A protocol violation (oversized or malformed message): the host kills the agent. */
  onViolation: (why: string) => void;
}

/** One command agent's MCP gateway (closed when the agent exits). */
export class CommandMcp {
  readonly #listener: Deno.UnixListener;
  readonly #abort = new AbortController();
  readonly #conns = new Set<Deno.UnixConn>();
  readonly #bucket: TokenBucket;

  constructor(readonly opts: CommandMcpOptions) {
    this.#listener = Deno.listen({ transport: "unix", path: opts.path });
    this.#bucket = new TokenBucket(opts.rate, opts.rate);
    this.#accept().catch(() => {});
  }

  async #accept(): Promise<void> {
    for await (const conn of this.#listener) {
      this.#conns.add(conn);
      this.#serve(conn).catch(() => {}).finally(() => {
        this.#conns.delete(conn);
        try {
          conn.close();
        } catch { /* closed */ }
      });
    }
  }

  async #serve(conn: Deno.UnixConn): Promise<void> {
    const enc = new TextEncoder();
    let writing = Promise.resolve();
    const send = (msg: unknown) => {
      const bytes = enc.encode(JSON.stringify(msg) + "\n");
      writing = writing.then(async () => {
        for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
      }).catch(() => {});
    };
    const inFlight = new Set<Promise<void>>();
    let buf = "";
    const dec = new TextDecoder();
    for await (const chunk of conn.readable) {
      buf += dec.decode(chunk, { stream: true });
      if (buf.length > MAX_MCP_LINE && !buf.includes("\n")) {
        this.opts.onViolation(`MCP message over ${MAX_MCP_LINE} bytes`);
        return;
      }
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
        const p = this.#handle(line, send).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    }
    await Promise.all(inFlight);
    await writing;
  }

  async #handle(line: string, send: (m: unknown) => void): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      send({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } });
      return;
    }
    const r = Request.safeParse(raw);
    if (!r.success) {
      send({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "invalid request" } });
      return;
    }
    const { id, method, params } = r.data;
    if (id === undefined) return; // a notification (notifications/initialized): nothing to say
    const reply = (result: unknown) => send({ jsonrpc: "2.0", id, result });
    const fail = (code: number, message: string) =>
      send({ jsonrpc: "2.0", id, error: { code, message } });
    switch (method) {
      case "initialize":
        return reply({
          protocolVersion: typeof params?.protocolVersion === "string"
            ? params.protocolVersion
            : PROTOCOL,
          capabilities: { tools: { listChanged: false } },
          serverInfo: { name: "warden", version: "1" },
        });
      case "ping":
        return reply({});
      case "tools/list":
        return reply({ tools: this.#list() });
      case "tools/call":
        return await this.#call(params ?? {}, reply, fail);
      default:
        return fail(-32601, `method not found: ${method}`);
    }
  }

  #list(): { name: string; description: string; inputSchema: unknown }[] {
    return this.opts.tools.names().map((name) => {
      const t = this.opts.tools.get(name)!;
      let inputSchema: unknown = { type: "object" };
      try {
        inputSchema = z.toJSONSchema(t.schema, { unrepresentable: "any" });
      } catch { /* a schema JSON Schema cannot say */ }
      return { name, description: t.description, inputSchema };
    });
  }

  async #call(
    params: Record<string, unknown>,
    reply: (r: unknown) => void,
    fail: (code: number, message: string) => void,
  ): Promise<void> {
    const name = params.name;
    if (typeof name !== "string") return fail(-32602, "tools/call needs a tool name");
    if (!this.#bucket.take()) return fail(-32000, "busy: tool call rate exceeded");
    try {
      const result = await this.opts.runner.call({
        agent: this.opts.agent,
        tool: name,
        args: params.arguments ?? {},
        path: "mcp",
        context: { mcp: "command" },
        signal: this.#abort.signal,
      });
      const text = typeof result === "string" ? result : JSON.stringify(result ?? null);
      reply({ content: [{ type: "text", text }], isError: false });
    } catch (e) {
      const why = e instanceof ToolRefusal
        ? `refused (${e.code}): ${e.message}`
        : `tool failed: ${e instanceof Error ? e.message : String(e)}`;
      reply({ content: [{ type: "text", text: why }], isError: true });
    }
  }

  /** Aborted when the agent stops (its egress proxy ends its requests too). */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Throttle tool calls (an SLO action). */
  setRate(perSecond: number): void {
    this.#bucket.set(perSecond, Math.max(1, perSecond));
  }

  /** Stop serving: in-flight calls are cancelled. */
  close(): void {
    this.#abort.abort(new DOMException("the agent was stopped", "AbortError"));
    try {
      this.#listener.close();
    } catch { /* closed */ }
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    try {
      Deno.removeSync(this.opts.path);
    } catch { /* gone */ }
  }
}
