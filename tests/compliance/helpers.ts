/** Shared set-up for the compliance tests. */
import { join } from "node:path";
import { AuditLog } from "../../runtime/audit/log.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";

/** A home with a keystore, a trusted publisher and a checkpointed audit log. */
export async function wellConfigured() {
  const home = await Deno.makeTempDir();
  const signer = await new Keystore(join(home, "keys")).signer("host");
  await Deno.mkdir(join(home, "plugins"));
  await Deno.writeTextFile(
    join(home, "plugins", "keyring.json"),
    JSON.stringify({
      v: 1,
      publishers: [{ did: signer.did, name: "acme", addedAt: new Date().toISOString() }],
    }),
  );
  const audit = join(home, "audit.jsonl");
  const log = new AuditLog(audit, { signer });
  log.append({
    ts: new Date().toISOString(),
    path: "host",
    agent: { id: "a", name: "a", ring: 2 },
    action: "agent.start",
    resource: "x",
    effect: "allow",
    rule: null,
    reason: "t",
  });
  await log.close();
  return { home, audit, signer };
}
