/**
 * The agent side of the SDK channel. The trusted bootstrap attaches the connection before the
 * agent's code loads; SDK calls send framed requests and await the host's responses. Every
 * reply is checked against its op's schema (sdk/replies.ts): one that does not fit rejects
 * the call with a WardenError `invalid`.
 */
import { encodeFrame, FrameDecoder } from "./frames.ts";
import { refusalProblem, resultProblem } from "./replies.ts";
import type { ErrorCode, Refusal, SdkOp, SdkResult } from "./types.ts";

/** An SDK call the host refused or could not perform (a Refusal, thrown). */
export class WardenError extends Error implements Refusal {
  readonly code: ErrorCode;
  /** The deciding rule, or null. */
  readonly rule: string | null;
  /** The deciding rule's own reason as its policy wrote it, or null (`message` says it all). */
  readonly ruleReason: string | null;
  constructor(
    code: ErrorCode,
    message: string,
    rule: string | null = null,
    ruleReason: string | null = null,
  ) {
    super(message);
    this.name = "WardenError";
    this.code = code;
    this.rule = rule;
    this.ruleReason = ruleReason;
  }
}

interface Pending {
  op: SdkOp;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/**
 * The channel's state lives on the global object under a registered symbol, so that a second
 * copy of this module (an agent bundled with its npm dependencies carries its own copy of the
 * SDK) shares the one connection the bootstrap attached instead of finding none.
 */
interface ChannelState {
  conn: Deno.Conn | null;
  nextId: number;
  pending: Map<number, Pending>;
}
const KEY = Symbol.for("warden.sdk.channel");
const g = globalThis as unknown as Record<symbol, ChannelState | undefined>;
const state: ChannelState = g[KEY] ??= { conn: null, nextId: 1, pending: new Map() };
const pending = state.pending;

async function readLoop(c: Deno.Conn): Promise<void> {
  const dec = new FrameDecoder(64 * 1024 * 1024);
  const buf = new Uint8Array(64 * 1024);
  try {
    while (true) {
      const n = await c.read(buf);
      if (n === null) break;
      for (const ev of dec.push(buf.subarray(0, n))) {
        if (ev.kind !== "frame") continue;
        const r = ev.value;
        if (r === null || typeof r !== "object") continue;
        const id = (r as { id?: unknown }).id;
        const p = typeof id === "number" ? pending.get(id) : undefined;
        if (!p) continue;
        pending.delete(id as number);
        settle(p, r);
      }
    }
  } catch { /* connection gone */ }
  state.conn = null;
  for (const p of pending.values()) {
    p.reject(new WardenError("killed", "the host closed the channel"));
  }
  pending.clear();
}

/** Resolve or reject a call with its reply, once the reply fits its schema. */
function settle(p: Pending, r: object): void {
  const bad = (why: string) =>
    p.reject(new WardenError("invalid", `the host's reply to ${p.op} is malformed: ${why}`));
  const keys = Object.keys(r).sort().join(",");
  const reply = r as Record<string, unknown>;
  if (reply.ok === true && keys === "id,ok,result") {
    const no = resultProblem(p.op, reply.result);
    return no ? bad(no) : p.resolve(reply.result);
  }
  if (reply.ok === false && keys === "error,id,ok") {
    const no = refusalProblem(reply.error);
    if (no) return bad(`error: ${no}`);
    const e = reply.error as Partial<Refusal> & Pick<Refusal, "code" | "message">;
    return p.reject(new WardenError(e.code, e.message, e.rule ?? null, e.ruleReason ?? null));
  }
  bad("expected {id, ok: true, result} or {id, ok: false, error}");
}

/** Attach the host connection (called once by the bootstrap). */
export function attach(c: Deno.Conn): void {
  if (state.conn) throw new Error("the SDK channel is already attached");
  state.conn = c;
  // Keep the process alive only while calls are pending.
  c.unref();
  readLoop(c);
}

/** Send one request and wait for its response (checked against the op's result schema). */
export async function call<O extends SdkOp>(
  op: O,
  params: Record<string, unknown>,
): Promise<SdkResult<O>> {
  const conn = state.conn;
  if (!conn) throw new WardenError("failed", "not running under a Warden host (no SDK channel)");
  const id = state.nextId++;
  // `settle` resolves only with a result that passed `resultProblem(op, …)`.
  const done = new Promise<SdkResult<O>>((resolve, reject) =>
    pending.set(id, { op, resolve: resolve as (v: unknown) => void, reject })
  );
  conn.ref();
  try {
    const bytes = encodeFrame({ ...params, id, op });
    let off = 0;
    while (off < bytes.length) off += await conn.write(bytes.subarray(off));
    return await done;
  } finally {
    if (pending.size === 0) state.conn?.unref();
  }
}
