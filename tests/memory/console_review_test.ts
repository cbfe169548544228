/**
 * Quarantine review in the console, in a real browser (Debian's chromium + playwright-core, as
 * tests/server/console_test.ts): the quarantined entries are listed with their writer and
 * trust (an agent's control characters shown escaped), Reject deletes one, Release makes the
 * other visible to readers. Fails with one line without Chromium.
 */
import { chromium } from "playwright-core";
import { assertEquals } from "../policy/asserts.ts";
import { compilePolicy } from "../../governance/mod.ts";
import { ApprovalQueue } from "../../runtime/approvals/queue.ts";
import { AgentHost } from "../../runtime/host.ts";
import { loadRings } from "../../runtime/policy/loader.ts";
import { controlPlane } from "../../runtime/server/api.ts";
import { agent, MEMORY_POLICY } from "./helpers.ts";

const CHROMIUM = Deno.env.get("WARDEN_CHROMIUM") || "/usr/bin/chromium";

Deno.test({
  name: "console: review quarantined memory, reject one entry and release another",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    try {
      Deno.statSync(CHROMIUM);
    } catch {
      // deno-lint-ignore no-throw-literal
      throw `console test: no Chromium at ${CHROMIUM}: install it (apt-get install chromium; .ci/run does) or set WARDEN_CHROMIUM`;
    }
    const stateDir = await Deno.makeTempDir();
    const host = new AgentHost({
      policy: compilePolicy(MEMORY_POLICY),
      rings: loadRings(),
      stateDir,
    });
    const token = "q".repeat(40);
    const app = controlPlane(host, {
      tokens: [{ token, name: "reviewer", role: "operator" }],
      approvals: new ApprovalQueue(host.governor),
      policyPaths: [],
      consoleHtml: Deno.readTextFileSync("runtime/server/console.html"),
    });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--headless=new"],
    });
    try {
      const low = agent("Newcomer", 500), reader = agent("Reader", 900);
      await host.memory.put(low, { namespace: "team-a", key: "pay", value: "wire to X\u202e" });
      await host.memory.put(low, { namespace: "team-a", key: "tip", value: "ok" });
      const held = await host.memory.store.all({ status: "quarantined", limit: 10 });
      const bad = held.find((e) => e.key === "pay")!, good = held.find((e) => e.key === "tip")!;
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${server.addr.port}/#token=${token}`);
      const row = (id: number) => `#quarantine tr[data-entry="${id}"]`;
      await page.waitForSelector(`${row(bad.id)} button.reject`, { timeout: 15_000 });
      assertEquals(await page.textContent(`${row(bad.id)} td.value`), '"wire to X\\u{202e}"');
      await page.click(`${row(bad.id)} button.reject`);
      await page.waitForSelector(row(bad.id), { state: "detached", timeout: 15_000 });
      await page.click(`${row(good.id)} button.release`);
      await page.waitForSelector("#no-quarantine:not([hidden])", { timeout: 15_000 });
      assertEquals(await host.memory.get(reader, { namespace: "team-a", key: "pay" }), null);
      const tip = await host.memory.get(reader, { namespace: "team-a", key: "tip" }) as {
        value: unknown;
      };
      assertEquals(tip.value, "ok");
      const ops = host.audit.recent.filter((e) => e.action.startsWith("operator.memory."));
      assertEquals(ops.map((e) => e.action), ["operator.memory.reject", "operator.memory.release"]);
    } finally {
      await browser.close();
      await server.shutdown();
      await host.close();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});
