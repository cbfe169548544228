/** Fill the workspace through the SDK: the host writes the files (no RLIMIT_FSIZE on it). */
import { fs } from "../../../../sdk/mod.ts";

const text = "x".repeat(512 * 1024);
for (let i = 0; i < 400; i++) {
  await fs.writeText(`sdk-${i}.txt`, text);
  if (i % 16 === 15) console.log(`wrote ${(i + 1) / 2} MiB`);
  await new Promise((r) => setTimeout(r, 10));
}
console.log("BUDGET-ESCAPED");
await new Promise((r) => setTimeout(r, 60_000));
