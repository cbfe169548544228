/**
 * Issue 16 class 1: relative-path race. A Worker (this same module, so it is part of the
 * agent's own code) flips the process's working directory between two workspace directories
 * while the main thread reads one relative path: from `a` it names an allowed decoy, from `b`
 * a file a deny rule covers. A broker that resolves the path against the cwd at check time,
 * while the kernel opens it against the cwd at open time, lets the denied file through. The
 * read attempt succeeds only when it got something other than the decoy.
 */
import { attempt, done, params } from "./_attempt.ts";

const inWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !==
  "undefined";

/** The worker: flip the cwd between `a` and `b` until terminated. */
function flipper(): void {
  const scope = globalThis as unknown as {
    onmessage: (e: MessageEvent<{ a: string; b: string }>) => void;
    postMessage: (m: string) => void;
  };
  scope.onmessage = (e) => {
    const { a, b } = e.data;
    try {
      Deno.chdir(a);
      Deno.chdir(b);
    } catch (err) {
      scope.postMessage(`chdir refused: ${err}`);
      return;
    }
    scope.postMessage("flipping");
    while (true) {
      try {
        Deno.chdir(a);
        Deno.chdir(b);
      } catch { /* keep flipping */ }
    }
  };
}

async function main(): Promise<void> {
  const { a, b, rel, decoy, ms, reads: most } = params<
    { a: string; b: string; rel: string; decoy: string; ms: number; reads: number }
  >();
  const worker = new Worker(import.meta.url, { type: "module" });
  const started = new Promise<string>((r) => (worker.onmessage = (e) => r(String(e.data))));
  worker.postMessage({ a, b });
  const flip = await started;

  await attempt("worker chdir", () => {
    if (flip !== "flipping") throw new Error(flip);
    return flip;
  });

  await attempt("race read", () => {
    const end = Date.now() + ms;
    let reads = 0;
    let refused = 0;
    while (Date.now() < end && reads + refused < most) {
      try {
        const got = Deno.readTextFileSync(rel);
        reads++;
        if (got !== decoy) return `read ${reads}: ${got}`;
      } catch {
        refused++;
      }
    }
    throw new Error(`no leak (${reads} decoy reads, ${refused} refused)`);
  });
  worker.terminate();
  done();
  Deno.exit(0); // a flipping worker would keep the process alive
}

if (inWorker) flipper();
else await main();
