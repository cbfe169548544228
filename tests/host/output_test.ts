/** Agent output is copied line by line, and no line makes the host buffer without bound. */
import { pipeLines } from "../../runtime/supervisor/output.ts";
import { assertEquals } from "../policy/asserts.ts";

Deno.test("output lines are bounded: an endless line is cut, later lines still arrive", async () => {
  const chunks = ["a".repeat(100), "b".repeat(100), "\nnext\n", "short\n"];
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (const x of chunks) c.enqueue(new TextEncoder().encode(x));
      c.close();
    },
  });
  const lines: string[] = [];
  await pipeLines(stream, (l) => lines.push(l), 150);
  assertEquals(lines, [`${"a".repeat(100)}${"b".repeat(50)}…[truncated]`, "next", "short"]);
});
