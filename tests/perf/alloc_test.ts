// `evaluate` allocates nothing on the common path: a million decisions of canonical path and
// name requests run without one young-generation GC (V8's --trace-gc, in a child process).
// URL resources are not in this set: the WHATWG parse allocates its record (README says so).
import { assert, assertEquals } from "../policy/asserts.ts";

const PROBE = new URL("./alloc_probe.ts", import.meta.url).pathname;

async function scavenges(action: string): Promise<{ gcs: number; out: string }> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--trace-gc", PROBE, action, "1000000"],
    stdout: "null",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  assertEquals(code, 0, err);
  const loop = err.slice(err.indexOf("probe: loop start"), err.indexOf("probe: loop end"));
  assert(loop.length > 0, err);
  return { gcs: (loop.match(/Scavenge|Mark-Compact|Minor/g) ?? []).length, out: err };
}

for (const action of ["fs.read", "tool.call"]) {
  Deno.test(`alloc: a million canonical ${action} decisions allocate nothing`, async () => {
    const { gcs, out } = await scavenges(action);
    assertEquals(gcs, 0, out.split("\n").filter((l) => /Scavenge|Mark/.test(l)).join("\n"));
  });
}
