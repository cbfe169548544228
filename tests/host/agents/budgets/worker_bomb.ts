/**
 * A thread bomb: start idle Workers (each one OS thread or more) until 100 run. The Workers
 * run this same module (its own code), which idles when it finds itself in a Worker.
 */
const inWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !==
  "undefined";
if (inWorker) {
  setInterval(() => {}, 1000);
} else {
  const workers: Worker[] = [];
  try {
    while (workers.length < 100) {
      workers.push(new Worker(import.meta.url, { type: "module" }));
      if (workers.length % 25 === 0) console.log(`workers ${workers.length}`);
      await new Promise((r) => setTimeout(r, 1));
    }
    console.log("BUDGET-ESCAPED");
  } catch (e) {
    console.log(`worker refused at ${workers.length}: ${e}`);
  }
  await new Promise((r) => setTimeout(r, 60_000));
}
