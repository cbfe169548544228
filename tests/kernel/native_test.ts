/**
 * Native programs under the same launcher (issue 20 item 5): the boundary does not depend on
 * Deno. `/bin/cat` of a forbidden file, `/usr/bin/curl` to a loopback server and a C program
 * built here trying each escape by raw system calls, at rings 3 and 2: all refused.
 */
import { join } from "node:path";
import type { Ring } from "../../governance/rings/mod.ts";
import { hostile, runConfined } from "./deno_off.ts";
import { targets } from "./targets.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

let built: string | undefined;
function escapeProgram(): string {
  if (built) return built;
  const dir = Deno.makeTempDirSync({ prefix: "warden-native-" });
  const bin = join(dir, "escape");
  const cc = new Deno.Command("cc", {
    args: ["-O1", "-o", bin, hostile("escape.c")],
    stderr: "piped",
  }).outputSync();
  if (!cc.success) throw new Error(new TextDecoder().decode(cc.stderr));
  return built = bin;
}

for (const ring of [3, 2] as Ring[]) {
  Deno.test(`native: /bin/cat of a forbidden file at ring ${ring} is refused`, opts, async () => {
    const t = await targets();
    try {
      const r = await runConfined({ ring, argv: ["/bin/cat", t.secret] });
      if (r.stdout.includes("TOP-SECRET") || r.code === 0) {
        throw new Error(`cat read the secret: ${r.code} ${r.stdout} ${r.stderr}`);
      }
      if (!/Permission denied/.test(r.stderr)) {
        throw new Error(`not refused by the kernel: ${r.stderr}`);
      }
    } finally {
      await t.close();
    }
  });

  Deno.test(
    `native: /usr/bin/curl to a loopback server at ring ${ring} gets nothing`,
    opts,
    async () => {
      const curl = "/usr/bin/curl";
      try {
        Deno.statSync(curl);
      } catch {
        throw new Error(
          `${curl} is missing: install it (apt-get install curl); this test never skips`,
        );
      }
      let hits = 0;
      const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
        hits++;
        return new Response("SERVED");
      });
      try {
        const url = `http://127.0.0.1:${server.addr.port}/`;
        const r = await runConfined({ ring, argv: [curl, "-sS", "--max-time", "5", url] });
        if (r.code === 0 || r.stdout.includes("SERVED") || hits > 0) {
          throw new Error(
            `curl reached the host's loopback server: ${r.code} ${r.stdout} ${r.stderr}`,
          );
        }
        // curl itself ran (its libraries load): the connection is what was refused.
        if (!/Failed to connect|Couldn't connect/.test(r.stderr)) {
          throw new Error(`curl did not get as far as connecting: ${r.code} ${r.stderr}`);
        }
      } finally {
        await server.shutdown();
      }
    },
  );

  Deno.test(`native: the C escape program at ring ${ring} gets nowhere`, opts, async () => {
    const bin = escapeProgram();
    const t = await targets();
    try {
      const r = await runConfined({ ring, argv: [bin, ...t.args] });
      if (!r.stdout.includes("done")) {
        throw new Error(`did not finish: ${r.code} ${r.stdout} ${r.stderr}`);
      }
      // A datagram sent is no escape by itself (in its own network namespace it reaches only
      // that loopback): the listener counts what arrives. A mode change returns 0 and is
      // ignored by the kernel: the secret's mode is compared below.
      const found = r.stdout.split("\n").filter((l) =>
        / ok$/.test(l) && !/^(udp-|chmod-|fchmodat)/.test(l)
      );
      if (Deno.readTextFileSync(t.secret) !== "TOP-SECRET") found.push("the secret changed");
      const st = Deno.statSync(t.secret);
      if (st.mode !== t.mode || st.uid !== t.uid) found.push("the secret's mode or owner changed");
      const hits = t.hits();
      if (hits.tcpHits || hits.udpHits || hits.unixHits) {
        found.push(`listeners reached: ${JSON.stringify(hits)}`);
      }
      if (!t.siblingAlive()) found.push("the sibling was killed");
      if (found.length) {
        throw new Error(`escapes:\n  ${found.join("\n  ")}\n${r.stdout}${r.stderr}`);
      }
    } finally {
      await t.close();
    }
  });
}
