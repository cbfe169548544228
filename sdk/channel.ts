/**
 * The agent side of the SDK channel. The trusted bootstrap attaches the connection before the
 * agent's code loads; SDK calls send framed requests and await the host's responses.
 */
import { encodeFrame, FrameDecoder } from "./frames.ts";
import type { ErrorCode, SdkResponse } from "./wire_schema.ts";

/** An SDK call the host refused or could not perform. */
export class WardenError extends Error {
  readonly code: ErrorCode;
  readonly rule: string | null;
  constructor(code: ErrorCode, message: string, rule: string | null = null) {
    super(message);
    this.name = "WardenError";
    this.code = code;
    this.rule = rule;
  }
}

interface Pending {
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
        const r = ev.value as SdkResponse;
        const p = r.id === null ? undefined : pending.get(r.id);
        if (!p) continue;
        pending.delete(r.id as number);
        if (r.ok) p.resolve(r.result);
        else p.reject(new WardenError(r.error.code, r.error.message, r.error.rule ?? null));
      }
    }
  } catch { /* connection gone */ }
  state.conn = null;
  for (const p of pending.values()) {
    p.reject(new WardenError("killed", "the host closed the channel"));
  }
  pending.clear();
}

/** Attach the host connection (called once by the bootstrap). */
export function attach(c: Deno.Conn): void {
  if (state.conn) throw new Error("the SDK channel is already attached");
  state.conn = c;
  // Keep the process alive only while calls are pending.
  c.unref();
  readLoop(c);
}

/** Send one request and wait for its response. */
export async function call(op: string, params: Record<string, unknown>): Promise<unknown> {
  const conn = state.conn;
  if (!conn) throw new WardenError("failed", "not running under a Warden host (no SDK channel)");
  const id = state.nextId++;
  const done = new Promise<unknown>((resolve, reject) => pending.set(id, { resolve, reject }));
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
