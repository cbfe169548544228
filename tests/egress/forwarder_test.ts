/**
 * The launcher's network namespace and egress forwarder, without Deno or the host: the program
 * sees only `lo` (no route out), its loopback port reaches the unix socket, and the forwarder
 * ends with the program and holds none of its descriptors (it once outlived a program confined
 * with Landlock's signal scope, whose death signal did not reach it, and kept the agent's stdout
 * open: the host then waited for that output forever).
 */
import { join } from "node:path";
import { assert, assertEquals } from "../policy/asserts.ts";
import { landlockSandbox } from "../../runtime/supervisor/sandbox/build.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

function forwarders(tag: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(tag)) out.push(Number(e.name));
    } catch { /* gone */ }
  }
  return out;
}

Deno.test("launcher --netns --egress: only lo, the port reaches the socket, the forwarder ends with the program", async () => {
  const sb = landlockSandbox();
  if (!sb.path) throw new Error(`no launcher: ${sb.why}`);
  if (sb.netns !== true) throw new Error(`no network namespace: ${sb.netns}`);
  const dir = await Deno.makeTempDir({ prefix: "warden-fwd-" });
  const sock = join(dir, "e.sock");
  const listener = Deno.listen({ transport: "unix", path: sock });
  (async () => {
    for await (const c of listener) {
      const buf = new Uint8Array(64);
      const n = await c.read(buf);
      await c.write(new TextEncoder().encode(`echo:${text(buf.subarray(0, n ?? 0))}`));
      c.close();
    }
  })().catch(() => {});
  const tag = `3129:${sock}`;
  try {
    // The interfaces the program sees, then a round trip through the forwarder (bash /dev/tcp).
    const script = [
      "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '",
      "exec 3<>/dev/tcp/127.0.0.1/3129 && printf hi >&3 && cat <&3",
    ].join("; ");
    const out = await new Deno.Command(sb.path, {
      args: [
        "--seccomp=full",
        "--scope",
        "--netns",
        "--egress",
        tag,
        "--ro",
        "/",
        "--",
        "/bin/bash",
        "-c",
        script,
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000), // a forwarder holding stdout would hang here
    }).output();
    const lines = text(out.stdout).trim().split("\n");
    assertEquals(lines, ["lo", "echo:hi"], text(out.stderr));
    const deadline = Date.now() + 10_000;
    while (forwarders(tag).length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    assertEquals(forwarders(tag), [], "the forwarder outlived the program");
    // Without --netns the forwarder is refused (it would listen on the host's loopback).
    const bad = await new Deno.Command(sb.path, {
      args: ["--egress", tag, "--ro", "/", "--", "/bin/true"],
      stderr: "piped",
    }).output();
    assert(!bad.success && text(bad.stderr).includes("--egress needs --netns"));
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});
