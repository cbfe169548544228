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

let conn: Deno.Conn | null = null;
let nextId = 1;
const pending = new Map<number, Pending>();

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
  conn = null;
  for (const p of pending.values()) {
    p.reject(new WardenError("killed", "the host closed the channel"));
  }
  pending.clear();
}

/** Attach the host connection (called once by the bootstrap). */
export function attach(c: Deno.Conn): void {
  if (conn) throw new Error("the SDK channel is already attached");
  conn = c;
  // Keep the process alive only while calls are pending.
  c.unref();
  readLoop(c);
}

/** Send one request and wait for its response. */
export async function call(op: string, params: Record<string, unknown>): Promise<unknown> {
  if (!conn) throw new WardenError("failed", "not running under a Warden host (no SDK channel)");
  const id = nextId++;
  const done = new Promise<unknown>((resolve, reject) => pending.set(id, { resolve, reject }));
  conn.ref();
  try {
    const bytes = encodeFrame({ ...params, id, op });
    let off = 0;
    while (off < bytes.length) off += await conn.write(bytes.subarray(off));
    return await done;
  } finally {
    if (pending.size === 0) conn?.unref();
  }
}
