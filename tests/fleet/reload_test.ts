/**
 * Reload vs bundle (issue 21): on a host that follows a policy channel, SIGHUP and
 * `POST /api/policy/reload` fetch and apply the channel's bundle again and never load the
 * host's own `--policy` files over fleet policy; both are audited; with the database down the
 * reload is refused (409, the reason) and the active bundle stays. A real host process.
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";
import { connectFleetDb } from "../../runtime/fleet/db.ts";
import { publishBundle } from "../../runtime/fleet/bundles.ts";
import { startCluster } from "./pg.ts";
import { startHosts, stopHosts, until } from "./hosts.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const FLEET_POLICY = `apiVersion: warden/v1
kind: Policy
name: fleet-policy
rules:
  - { id: fleet-rule, effect: allow, action: tool.call, resource: echo }
`;
const LOCAL_POLICY = FLEET_POLICY.replace("fleet-policy", "local-policy");

Deno.test({
  name: "fleet reload: SIGHUP and the reload API re-apply the channel's bundle, never local files",
  ...opts,
  fn: async () => {
    const cluster = startCluster(); // its own: stopped at the end
    const url = await cluster.createDatabase();
    const pubDir = await Deno.makeTempDir({ prefix: "warden-pub-" });
    const signer = await new Keystore(pubDir).signer("publisher");
    const local = await Deno.makeTempDir({ prefix: "warden-local-" });
    await Deno.writeTextFile(join(local, "local.yaml"), LOCAL_POLICY);
    const hosts = await startHosts(1, url, {
      config: { channel: "prod", publishers: [signer.did], policyPollMs: 1000 },
      args: ["--policy", local],
    });
    const [h] = hosts;
    const db = connectFleetDb(url);
    const names = async () => (await h.json<{ names: string[] }>("/api/policy")).names;
    try {
      const v1 = await publishBundle(db, "notify", signer, "prod", [
        { path: "fleet.yaml", text: FLEET_POLICY },
      ]);
      await until("the host runs the bundle", async () => (await names()).includes("fleet-policy"));

      const r = await h.api("/api/policy/reload", { body: {} });
      assertEquals(r.status, 200);
      assertEquals(await r.json(), {
        ok: true,
        fleet: `fleet mode: re-applied bundle v${v1.version} of channel prod`,
      });
      assertEquals((await names()).includes("local-policy"), false);

      h.child.kill("SIGHUP");
      await until(
        "SIGHUP re-applies the bundle",
        () =>
          h.lines.some((l) =>
            l ===
              `warden: policy reloaded: fleet mode: re-applied bundle v${v1.version} of channel prod`
          ),
      );
      assertEquals((await names()).includes("local-policy"), false);
      assertEquals((await names()).includes("fleet-policy"), true);

      // Audited: the host's re-apply (by whom) and the operator's API call.
      const audited = await until("both reloads audited", async () => {
        const lines = (await Deno.readTextFile(join(h.home, "audit.jsonl"))).trim().split("\n");
        const entries = lines.map((l) => JSON.parse(l)).filter((e) =>
          e.action === "policy.reload" || e.action === "operator.policy.reload"
        );
        return entries.length >= 3 ? entries : undefined;
      });
      const reasons = audited.map((e) => `${e.action} ${e.effect} ${e.reason}`);
      for (const want of ["by api:local-admin", "by SIGHUP"]) {
        if (
          !reasons.some((x) =>
            x.startsWith("policy.reload allow fleet mode: re-applied") && x.includes(want) &&
            x.includes("local policy files are not loaded in fleet mode")
          )
        ) throw new Error(`no audit entry ${want}:\n${reasons.join("\n")}`);
      }
      if (
        !reasons.some((x) =>
          x.startsWith("operator.policy.reload allow") && x.includes("fleet mode: re-applied")
        )
      ) {
        throw new Error(reasons.join("\n"));
      }

      // The database down: the reload is refused with the reason, the bundle stays.
      await db.close();
      cluster.stop();
      const down = await h.api("/api/policy/reload", { body: {} });
      assertEquals(down.status, 409);
      const why = (await down.json()).problems[0] as string;
      if (!why.startsWith("fleet mode: cannot fetch channel prod (fleet database")) {
        throw new Error(why);
      }
      if (!why.endsWith(`keeping bundle v${v1.version}`)) throw new Error(why);
      assertEquals((await names()).includes("fleet-policy"), true);
    } finally {
      await db.close();
      await stopHosts(hosts);
      cluster.destroy();
    }
  },
});
