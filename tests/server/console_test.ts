/**
 * The console in a real browser (Debian's chromium + playwright-core): load the page, find an
 * agent, approve its pending request, kill another agent, save a screenshot. CI installs
 * chromium (.ci/run). Without it the test fails with one line saying so — never skipped silently.
 * `WARDEN_CHROMIUM` names another browser binary (default /usr/bin/chromium).
 */
import { join } from "node:path";
import { chromium } from "playwright-core";
import { z } from "zod";
import { assertEquals } from "../policy/asserts.ts";
import { ApprovalQueue } from "../../runtime/approvals/queue.ts";
import { registerBuiltinTools } from "../../runtime/executors/builtin_tools.ts";
import { ToolRegistry } from "../../runtime/executors/tools.ts";
import { AgentHost } from "../../runtime/host.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { controlPlane } from "../../runtime/server/api.ts";

const CHROMIUM = Deno.env.get("WARDEN_CHROMIUM") || "/usr/bin/chromium";
const here = new URL(".", import.meta.url).pathname;

/**
 * Fail with exactly one line when the browser is missing. A thrown string is what Deno's test
 * runner prints as one line (`error: "…"`), with no stack frames after it.
 */
function needChromium(): void {
  try {
    if (Deno.statSync(CHROMIUM).isFile) return;
  } catch { /* reported below */ }
  // deno-lint-ignore no-throw-literal
  throw `console test: no Chromium at ${CHROMIUM}: install it (apt-get install chromium; .ci/run does) or set WARDEN_CHROMIUM`;
}

Deno.test({
  name: "console: find an agent, approve its request, kill another, screenshot",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    needChromium();
    const dir = await Deno.makeTempDir();
    // agents.yaml plus a `deploy` tool whose password the approver must not see.
    const policyText = Deno.readTextFileSync("policies/agents.yaml").replace(
      "  - id: shell-needs-approval\n",
      "  - id: deploy-needs-approval\n    effect: require_approval\n    action: tool.call\n" +
        "    resource: deploy\n    redact: [args.password]\n  - id: shell-needs-approval\n",
    );
    Deno.writeTextFileSync(join(dir, "agents.yaml"), policyText);
    const tools = registerBuiltinTools(new ToolRegistry()).register("deploy", {
      description: "deploy (test)",
      schema: z.strictObject({ target: z.string(), password: z.string() }),
      run: ({ target }) => Promise.resolve({ deployed: target }),
    });
    const host = new AgentHost({
      policy: loadPolicy([join(dir, "agents.yaml")], { builtin: true }),
      rings: loadRings(),
      tools,
      auditPath: join(dir, "audit.jsonl"),
      signer: await new Keystore(join(dir, "keys")).signer("host"),
    });
    const approvals = new ApprovalQueue(host.governor);
    host.setApprovalHandler(approvals.handler);
    const token = "t".repeat(40);
    const app = controlPlane(host, {
      tokens: [{ token, name: "browser-operator", role: "operator" }],
      approvals,
      policyPaths: [join(dir, "agents.yaml")],
      consoleHtml: Deno.readTextFileSync("runtime/server/console.html"),
    });
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, app.fetch);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--headless=new"],
    });
    try {
      const asker = await host.start({ module: join(here, "agents/asker.ts"), name: "asker" });
      const spinner = await host.start({
        module: join(here, "agents/spinner.ts"),
        name: "spinner",
      });
      const askerOut = new Response(asker.process.stdout).text();
      const secret = await host.start({
        module: join(here, "agents/secret_asker.ts"),
        name: "secret",
      });
      const secretOut = new Response(secret.process.stdout).text();
      const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
      await page.goto(`http://127.0.0.1:${server.addr.port}/#token=${token}`);
      await page.waitForSelector('tr[data-agent="spinner"]', { timeout: 15_000 });
      for (let i = 0; i < 300 && approvals.list().length < 2; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const shell = approvals.list().find((p) => p.resource === "shell")!;
      const deploy = approvals.list().find((p) => p.resource === "deploy")!;
      const row = (p: { id: string }) => `tr[data-approval="${p.id}"]`;
      await page.waitForSelector(`${row(deploy)} button.approve`, { timeout: 15_000 });
      await page.waitForSelector(`${row(shell)} button.approve`, { timeout: 15_000 });
      // The approver sees the command itself, and the hash the decision is bound to.
      assertEquals(
        await page.textContent(`${row(shell)} code.args`),
        '{"command":"echo approved"}',
      );
      assertEquals(
        await page.textContent(`${row(shell)} .hash`),
        `sha-256 ${shell.hash.slice(0, 16)}…`,
      );
      // A field the rule marks secret is shown as redacted, and never reaches the page.
      assertEquals(
        await page.textContent(`${row(deploy)} code.args`),
        '{"password":"[redacted]","target":"prod\\u{202e}gnp.exe\\u001b[2K"}',
      );
      assertEquals(await page.textContent(`${row(deploy)} .redacted`), "redacted: args.password");
      assertEquals((await page.content()).includes("hunter2"), false);
      await page.click(`${row(deploy)} button.deny-btn`);
      assertEquals(JSON.parse((await secretOut).trim()), { ok: false, code: "denied" });
      await page.click(`${row(shell)} button.approve`);
      assertEquals(JSON.parse((await askerOut).trim()).ok, true);
      await page.click('tr[data-agent="spinner"] button.kill');
      const exit = await spinner.exited;
      assertEquals([exit.code, exit.killed?.includes("kill button in the console")], [137, true]);
      await page.waitForSelector("#stream div.deny", { timeout: 10_000 });
      await page.waitForSelector("#verify.ok", { timeout: 10_000 });
      await page.screenshot({ path: join(dir, "console.png"), fullPage: true });
      assertEquals(Deno.statSync(join(dir, "console.png")).size > 10_000, true);
      const keep = Deno.env.get("WARDEN_SCREENSHOT");
      if (keep) await Deno.copyFile(join(dir, "console.png"), keep);
      const approval = host.audit.recent.find((e) =>
        e.action === "approval" && e.requestHash === shell.hash
      );
      assertEquals([approval?.effect, approval?.approver], ["allow", "browser-operator"]);
    } finally {
      await browser.close();
      await server.shutdown();
      await host.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
