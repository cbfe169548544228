/** Controls judged by keys and signatures: audit chain, keystore, messages, transport, plugins. */
import { join } from "node:path";
import { Keyring, Revocations } from "../../governance/plugins/trust.ts";
import { verifyLog } from "../audit/verify.ts";
import { PluginStore } from "../plugins/store.ts";
import type { AddResult, ComplianceInputs } from "./checks.ts";
import { probeMessages, probePlugins } from "./probes.ts";

function mode(path: string): number | null {
  try {
    return (Deno.statSync(path).mode ?? 0) & 0o777;
  } catch {
    return null;
  }
}

/**
 * audit-integrity, identity-keys, signed-messages, transport-security and plugin-signatures
 * (live probes only when `live`).
 */
export async function checkTrust(
  i: ComplianceInputs,
  live: boolean,
  add: AddResult,
): Promise<void> {
  if (!i.auditPath) add("audit-integrity", "fail", "no audit log configured");
  else {
    try {
      const v = await verifyLog(i.auditPath);
      add(
        "audit-integrity",
        v.ok && v.checkpoints > 0 ? "pass" : "fail",
        v.ok
          ? `${v.entries} entries, hash chain and ${v.checkpoints} signed checkpoint(s) verified (${v.key})`
          : `not verified: ${v.problem}`,
      );
    } catch (e) {
      add("audit-integrity", "fail", `${i.auditPath}: ${(e as Error).message}`);
    }
  }
  const keys = join(i.state, "keys");
  const dirMode = mode(keys);
  const keyFiles = dirMode === null ? [] : [...Deno.readDirSync(keys)].filter((e) => e.isFile);
  const loose = keyFiles.filter((e) => ((mode(join(keys, e.name)) ?? 0) & 0o077) !== 0).map((e) =>
    e.name
  );
  add(
    "identity-keys",
    dirMode !== null && (dirMode & 0o077) === 0 && keyFiles.length > 0 && loose.length === 0
      ? "pass"
      : "fail",
    dirMode === null
      ? `no keystore at ${keys}`
      : keyFiles.length === 0
      ? `keystore ${keys} holds no keys`
      : `keystore ${keys} mode ${dirMode.toString(8)}, ${keyFiles.length} key file(s)${
        loose.length ? `; readable by others: ${loose.join(", ")}` : ", all 0600"
      }`,
  );
  // Signed messages: a live seal / deliver / tamper / replay / forgery probe.
  let peerUrl: string | null = null;
  if (!live) add("signed-messages", "manual", "live probes disabled: nothing else is evidence");
  else {
    const m = await probeMessages(i.policy, i.rings);
    peerUrl = m.peerUrl;
    add("signed-messages", m.status, m.evidence);
  }
  // Transmission security: the peer endpoint serves plain HTTP (signed, not encrypted), so it
  // fails when the host sends to peers over http:, and needs a human otherwise.
  const peers = i.peers ?? [];
  const plain = peers.filter((p) => {
    try {
      return new URL(p).protocol !== "https:";
    } catch {
      return true;
    }
  });
  const endpoint = `the peer endpoint${peerUrl ? ` (probed at ${peerUrl})` : ""} is plain HTTP`;
  add(
    "transport-security",
    plain.length > 0 ? "fail" : "manual",
    plain.length > 0
      ? `messages to ${
        plain.join(", ")
      } cross hosts unencrypted: ${endpoint}; envelopes are signed, not encrypted`
      : peers.length > 0
      ? `${endpoint}; the https: peers (${
        peers.join(", ")
      }) terminate TLS outside Warden: review it`
      : `${endpoint} and no peers are configured; envelopes are signed, not encrypted: encryption between hosts must come from the deployment and be reviewed`,
  );
  const readJson = (name: string): { found: boolean; value?: unknown; error?: string } => {
    try {
      return {
        found: true,
        value: JSON.parse(Deno.readTextFileSync(join(i.state, "plugins", name))),
      };
    } catch (e) {
      return e instanceof Deno.errors.NotFound
        ? { found: false }
        : { found: true, error: (e as Error).message };
    }
  };
  const kr = readJson("keyring.json");
  const keyring = kr.value !== undefined ? Keyring.safeParse(kr.value) : null;
  const rv = readJson("revoked.json");
  const revocations = rv.value !== undefined ? Revocations.safeParse(rv.value) : null;
  const publishers = keyring?.success ? keyring.data.publishers.length : 0;
  const revOk = !rv.found || (revocations?.success ?? false);
  const probe = publishers > 0 && revOk && live
    ? await probePlugins(
      keyring!.data!,
      revocations?.success ? revocations.data : { v: 1, keys: [], versions: [] },
    )
    : null;
  // Every installed plugin must still verify against the current keyring and revocations.
  const store = new PluginStore(i.state);
  let installed: string[] = [];
  const broken: string[] = [];
  try {
    installed = Object.keys(store.installed());
  } catch (e) {
    broken.push(`installed.json: ${(e as Error).message}`);
  }
  for (const name of installed) {
    try {
      await store.verifyInstalled(name);
    } catch (e) {
      broken.push(`${name}: ${(e as Error).message}`);
    }
  }
  add(
    "plugin-signatures",
    publishers > 0 && revOk && probe?.status === "pass" && broken.length === 0
      ? "pass"
      : probe || !revOk || publishers === 0 || broken.length > 0
      ? "fail"
      : "manual",
    `${
      probe ? probe.evidence : live ? "nothing to probe against" : "live probes disabled"
    }; installed plugins: ${
      broken.length ? `failing verification: ${broken.join("; ")}` : `${installed.length} verified`
    }; keyring: ${publishers} trusted publisher(s)${
      kr.found && !keyring?.success ? " (unreadable)" : ""
    }; revocation list: ${
      !rv.found
        ? "empty"
        : revOk
        ? `${revocations!.data!.keys.length} key(s), ${
          revocations!.data!.versions.length
        } version(s)`
        : "unreadable"
    }`,
  );
}
