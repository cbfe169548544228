/** A real `deno task host` process for the tests that drive it over loopback HTTP. */
import { pipeLines } from "../../runtime/supervisor/output.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Start `deno task host` on `port` with `home` as its WARDEN_HOME; `up` resolves once it listens. */
export function spawnHost(home: string, port: number, extra: string[] = []) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "host", "--port", String(port), ...extra],
    cwd: ROOT,
    env: { WARDEN_HOME: home, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let ready!: () => void;
  const up = new Promise<void>((r) => (ready = r));
  const out = pipeLines(child.stdout, (l) => {
    if (l.includes("control plane on")) ready();
  });
  const err = new Response(child.stderr).text();
  return { child, up, out, err };
}

/** A loopback port nobody listens on right now. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
