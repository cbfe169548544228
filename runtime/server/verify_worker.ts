/** Verifies one audit log off the host's event loop (see offload.ts and api.ts). */
import { verifyLog } from "../audit/verify.ts";

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<{ path: string }>) => void) | null;
  postMessage(m: unknown): void;
};

scope.onmessage = async ({ data: { path } }) => {
  try {
    scope.postMessage(await verifyLog(path));
  } catch (e) {
    scope.postMessage({ ok: false, problem: `cannot verify: ${(e as Error).message}` });
  }
};
