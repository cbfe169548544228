/**
 * Idempotent test tools over a JSONL ledger file: every call appends a `call` line; the first
 * call with a key appends an `effect` line, later calls with the same key have no effect.
 * Shared by the crash child process and the test that resumes after it.
 */
import type { SagaExecute } from "../../runtime/saga/orchestrator.ts";

/** One ledger line. */
export interface LedgerLine {
  event: "call" | "effect";
  tool: string;
  key: string;
}

/** Read a ledger file. */
export function readLedger(path: string): LedgerLine[] {
  let text = "";
  try {
    text = Deno.readTextFileSync(path);
  } catch { /* no file yet */ }
  return text.split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

function write(path: string, line: LedgerLine): void {
  const f = Deno.openSync(path, { append: true, create: true });
  try {
    f.writeSync(new TextEncoder().encode(JSON.stringify(line) + "\n"));
    f.syncSync();
  } finally {
    f.close();
  }
}

/** Record a call of `tool` with `key`: its effect only the first time the key is seen. */
export function recordCall(path: string, tool: string, key: string): void {
  write(path, { event: "call", tool, key });
  if (!readLedger(path).some((l) => l.event === "effect" && l.key === key)) {
    write(path, { event: "effect", tool, key });
  }
}

/**
 * Wait (without a time assertion) until the ledger at `path` shows an effect `hit` accepts,
 * then SIGKILL `child` (a host mid-step); its exit status.
 */
export async function killAtEffect(
  child: Deno.ChildProcess,
  path: string,
  hit: (l: LedgerLine) => boolean,
): Promise<Deno.CommandStatus> {
  try {
    for (let i = 0; i < 6000; i++) {
      if (readLedger(path).some((l) => l.event === "effect" && hit(l))) break;
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone: the caller's status assertion reports it */ }
  }
  return await child.status;
}

/** Tools that honour the idempotency key; `blockAfterEffect` tools then hang until aborted. */
export function ledgerExecute(path: string, blockAfterEffect: string[] = []): SagaExecute {
  return async (_agent, tool, _args, key, signal) => {
    recordCall(path, tool, key);
    if (blockAfterEffect.includes(tool)) {
      await new Promise((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason), { once: true })
      );
    }
    return { key };
  };
}
