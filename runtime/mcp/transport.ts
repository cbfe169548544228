/**
 * An MCP transport (the official SDK's `Transport` interface) over a governed server's stdio:
 * newline-delimited JSON-RPC written to its stdin and read from its stdout. Everything the
 * server prints is untrusted: a line that is not JSON-RPC is reported and dropped, a line
 * longer than the limit or a flood of bad lines ends the stream (the caller kills the server).
 */
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { deserializeMessage, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

/** Limits on what a server may send. */
export interface StdioLimits {
  /** Longest line accepted (bytes). */
  maxLineBytes: number;
  /** Malformed lines tolerated before the stream is treated as hostile. */
  maxMalformed: number;
}

export const DEFAULT_STDIO_LIMITS: StdioLimits = {
  maxLineBytes: 8 * 1024 * 1024,
  maxMalformed: 100,
};

const NL = 0x0a;

export class ProcessTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** Called once when the server's output breaks the limits (the caller ends the server). */
  onviolation?: (why: string) => void;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #limits: StdioLimits;
  #closed = false;
  #malformed = 0;
  readonly #enc = new TextEncoder();
  readonly #dec = new TextDecoder("utf-8", { fatal: true });

  constructor(
    stdin: WritableStream<Uint8Array>,
    stdout: ReadableStream<Uint8Array>,
    limits: Partial<StdioLimits> = {},
  ) {
    this.#writer = stdin.getWriter();
    this.#reader = stdout.getReader();
    this.#limits = { ...DEFAULT_STDIO_LIMITS, ...limits };
  }

  start(): Promise<void> {
    this.#readLoop();
    return Promise.resolve();
  }

  async #readLoop(): Promise<void> {
    let buf = new Uint8Array(0);
    try {
      while (!this.#closed) {
        const { done, value } = await this.#reader.read();
        if (done) break;
        const merged = new Uint8Array(buf.length + value.length);
        merged.set(buf);
        merged.set(value, buf.length);
        let start = 0;
        for (let i = buf.length; i < merged.length; i++) {
          if (merged[i] !== NL) continue;
          this.#line(merged.subarray(start, i));
          start = i + 1;
          if (this.#closed) return;
          // The SDK handles notifications a microtask later but responses at once: let it
          // finish a notification (progress) before the response that follows it in the
          // same chunk ends the request.
          await null;
        }
        buf = merged.slice(start);
        if (buf.length > this.#limits.maxLineBytes) {
          this.#violation(`a line longer than ${this.#limits.maxLineBytes} bytes on stdout`);
          return;
        }
      }
    } catch { /* the process went away */ }
    await this.close();
  }

  #line(bytes: Uint8Array): void {
    let text: string;
    try {
      text = this.#dec.decode(bytes).replace(/\r$/, "");
    } catch {
      return this.#bad("a line that is not UTF-8");
    }
    if (text.trim() === "") return;
    let msg: JSONRPCMessage;
    try {
      msg = deserializeMessage(text);
    } catch {
      return this.#bad(`a line that is not JSON-RPC: ${JSON.stringify(text.slice(0, 80))}`);
    }
    this.onmessage?.(msg);
  }

  #bad(what: string): void {
    this.onerror?.(new Error(`the MCP server printed ${what}`));
    if (++this.#malformed > this.#limits.maxMalformed) {
      this.#violation(`more than ${this.#limits.maxMalformed} malformed lines on stdout`);
    }
  }

  #violation(why: string): void {
    this.onviolation?.(why);
    this.close();
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) throw new Error("the MCP server is not running");
    await this.#writer.write(this.#enc.encode(serializeMessage(message)));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#writer.close();
    } catch { /* already gone */ }
    try {
      await this.#reader.cancel();
    } catch { /* already gone */ }
    this.onclose?.();
  }
}
