/**
 * The Deno-off suite (issue 20 item 5): a hostile agent with every Deno permission check off
 * (`deno run -A`, no broker) at rings 2 and 3, under the kernel layers only, finds nothing:
 * no file outside its ring's trees (absolute, `..`, symlinks, /proc/self/root, hard links), no
 * connection out, no signal to another process, no ptrace, no program started, and its memory
 * and pids budgets hold.
 */
import type { Ring } from "../../governance/rings/mod.ts";
import { hostile, type Ran, runDenoOff } from "./deno_off.ts";
import { targets } from "./targets.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/**
 * What got through. A datagram sent is no escape by itself (the listener counts arrivals), nor
 * is a chmod that returned 0 (the kernel ignores mode changes: the secret's mode is compared).
 */
function findings(r: Ran): string[] {
  return r.lines.filter((l) => l.ok === true && !/^(udp|chmod)/.test(String(l.step)))
    .map((l) => `${l.step}: ${l.detail}`);
}

function show(r: Ran): string {
  return `exit ${r.code} ${r.signal}\nstdout:\n${r.stdout.slice(-4000)}\nstderr:\n${
    r.stderr.slice(-2000)
  }`;
}

for (const ring of [3, 2] as Ring[]) {
  Deno.test(`deno-off: a hostile agent with -A at ring ${ring} finds nothing`, opts, async () => {
    const t = await targets();
    try {
      const r = await runDenoOff(hostile("hostile.ts"), { ring, args: t.args });
      if (!r.lines.some((l) => l.step === "done")) throw new Error(`did not finish\n${show(r)}`);
      const found = findings(r);
      if (Deno.readTextFileSync(t.secret) !== "TOP-SECRET") found.push("the secret changed");
      const st = Deno.statSync(t.secret);
      if (st.mode !== t.mode || st.uid !== t.uid) found.push("the secret's mode or owner changed");
      try {
        Deno.statSync(`${t.dir}/planted`);
        found.push("a file was planted outside");
      } catch { /* good */ }
      const hits = t.hits();
      if (hits.tcpHits || hits.udpHits || hits.unixHits) {
        found.push(`the listeners were reached: ${JSON.stringify(hits)}`);
      }
      if (!t.siblingAlive()) found.push("the sibling was killed");
      if (found.length) throw new Error(`escapes:\n  ${found.join("\n  ")}\n${show(r)}`);
    } finally {
      await t.close();
    }
  });
}
