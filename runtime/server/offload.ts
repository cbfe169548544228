/**
 * Run one CPU-heavy job of the control plane in a fresh Worker, so the host's event loop keeps
 * deciding for agents meanwhile (issue 16, class 12). The worker replies once; past the
 * deadline it is terminated and the job rejected.
 */
export function inWorker<T>(url: URL, message: unknown, deadlineMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const w = new Worker(url, { type: "module" });
    const end = (f: () => void) => {
      clearTimeout(timer);
      w.terminate();
      f();
    };
    const timer = setTimeout(
      () => end(() => reject(new Error(`did not finish within ${deadlineMs} ms`))),
      deadlineMs,
    );
    w.onmessage = (e: MessageEvent) => end(() => resolve(e.data as T));
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      end(() => reject(new Error(e.message)));
    };
    w.postMessage(message);
  });
}
