/** Tamper evidence: every tamper class, checkpoints, inclusion proofs, keys. */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import {
  type AuditFields,
  chainEntry,
  EMPTY_ROOT,
  GENESIS,
  hex,
  inclusionProof,
  leafHash,
  merkleRoot,
  verifyInclusion,
} from "../../governance/audit/mod.ts";
import { AuditLog, checkpointPath } from "../../runtime/audit/log.ts";
import { proveEntry, verifyLog, verifyProof } from "../../runtime/audit/verify.ts";
import { Keystore } from "../../runtime/identity/keystore.ts";

const fields = (i: number): AuditFields => ({
  ts: new Date(1_700_000_000_000 + i).toISOString(),
  path: "broker",
  agent: { id: "did:key:z6MkA", name: "a", ring: 2 },
  action: i % 2 ? "fs.read" : "net.connect",
  resource: `/ws/file-${i}`,
  effect: i % 3 ? "allow" : "deny",
  rule: null,
  reason: `reason ${i}`,
});

async function makeLog(n = 20, every = 5) {
  const dir = await Deno.makeTempDir();
  const signer = await new Keystore(join(dir, "keys")).signer("host");
  const path = join(dir, "audit.jsonl");
  const log = new AuditLog(path, { signer, checkpointEvery: every, checkpointMs: 60_000 });
  for (let i = 0; i < n; i++) {
    log.append(fields(i));
    log.commit(); // as the host does before acknowledging each decision
  }
  await log.close();
  const lines = () => Deno.readTextFileSync(path).trimEnd().split("\n");
  const write = (l: string[]) => Deno.writeTextFileSync(path, l.join("\n") + "\n");
  return { dir, path, signer, lines, write };
}

Deno.test("Merkle tree: RFC 6962 empty and single-leaf hashes; proofs for every leaf of trees 1..64", () => {
  assertEquals(hex(EMPTY_ROOT), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assertEquals(
    hex(leafHash("")),
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  );
  for (let n = 1; n <= 64; n++) {
    const leaves = Array.from({ length: n }, (_, i) => leafHash(`e${i}`));
    const root = merkleRoot(leaves);
    for (let i = 0; i < n; i++) {
      const p = inclusionProof(leaves, i, n);
      if (!verifyInclusion(leaves[i], i, n, p, root)) throw new Error(`n=${n} i=${i}`);
      if (verifyInclusion(leafHash("forged"), i, n, p, root)) {
        throw new Error(`forged leaf accepted n=${n} i=${i}`);
      }
    }
  }
});

Deno.test("an untouched log verifies, with its checkpoints", async () => {
  const t = await makeLog();
  const r = await verifyLog(t.path, t.signer.did);
  assertEquals([r.ok, r.entries, r.checkpoints, r.covered, r.key], [true, 20, 4, 20, t.signer.did]);
});

Deno.test("every tamper class is detected and the first bad entry is named", async () => {
  const cases: [string, (l: string[]) => string[], number, RegExp][] = [
    ["modified", (l) => (l[7] = l[7].replace("reason 7", "reason X"), l), 7, /entry 7 is bad/],
    ["deleted", (l) => (l.splice(7, 1), l), 7, /entry 7 is bad/],
    ["reordered", (l) => ([l[7], l[8]] = [l[8], l[7]], l), 7, /entry 7 is bad/],
    ["inserted", (l) => (l.splice(7, 0, l[3]), l), 7, /entry 7 is bad/],
    [
      "truncated tail",
      (l) => l.slice(0, 17),
      17,
      /truncated: .* covers 20 entries, the log has 17/,
    ],
    ["not JSON", (l) => (l[4] = "{oops", l), 4, /entry 4 is bad: not an audit entry/],
  ];
  for (const [name, edit, bad, msg] of cases) {
    const t = await makeLog();
    t.write(edit(t.lines()));
    const r = await verifyLog(t.path, t.signer.did);
    assertEquals([r.ok, r.firstBad], [false, bad], name);
    if (!msg.test(r.problem ?? "")) throw new Error(`${name}: ${r.problem}`);
    await Deno.remove(t.dir, { recursive: true });
  }
});

Deno.test("a consistent rewrite (chain recomputed) is caught by the signed checkpoints", async () => {
  const t = await makeLog();
  const entries = t.lines().map((l) => JSON.parse(l));
  let prev = GENESIS;
  const out: string[] = [];
  entries.forEach((e, i) => {
    const { seq: _s, prev: _p, hash: _h, ...f } = e;
    if (i === 12) f.effect = "allow";
    const c = chainEntry(f as AuditFields, i, prev);
    prev = c.entry.hash;
    out.push(c.line.trimEnd());
  });
  t.write(out);
  const r = await verifyLog(t.path, t.signer.did);
  assertEquals([r.ok, r.firstBad], [false, 10]);
  if (!r.problem!.includes("do not match signed checkpoint 2")) throw new Error(r.problem!);
});

Deno.test("forged or foreign checkpoints and a missing sidecar fail", async () => {
  const t = await makeLog();
  const cps = Deno.readTextFileSync(checkpointPath(t.path)).trimEnd().split("\n").map((l) =>
    JSON.parse(l)
  );
  const other = await new Keystore(join(t.dir, "other")).signer("host");
  assertEquals((await verifyLog(t.path, other.did)).ok, false); // pinned to another key
  cps[1].root = cps[1].root.replace(/^./, (c: string) => (c === "0" ? "1" : "0"));
  Deno.writeTextFileSync(
    checkpointPath(t.path),
    cps.map((c) => JSON.stringify(c)).join("\n") + "\n",
  );
  assertEquals((await verifyLog(t.path)).problem, "checkpoint 1: bad signature");
  Deno.removeSync(checkpointPath(t.path));
  const r = await verifyLog(t.path);
  if (!r.problem!.startsWith("no checkpoint sidecar")) throw new Error(r.problem!);
});

Deno.test("inclusion proofs: prove, verify offline, reject tampering", async () => {
  const t = await makeLog();
  const p = await proveEntry(t.path, 13);
  assertEquals(await verifyProof(p, t.signer.did), null);
  assertEquals(
    await verifyProof({ ...p, entry: p.entry.replace("reason 13", "reason 14") }),
    "the entry does not hash to the proof's leaf",
  );
  assertEquals(
    await verifyProof({ ...p, index: 12 }),
    "the proof's index 12 is not the entry's position 13",
  );
  assertEquals(
    await verifyProof({ ...p, path: [...p.path].reverse() }),
    "the audit path does not lead to the signed root",
  );
  const other = await new Keystore(join(t.dir, "other")).signer("host");
  assertEquals(
    await verifyProof(p, other.did),
    `the checkpoint is signed by ${t.signer.did}, not ${other.did}`,
  );
});

Deno.test("a reopened log continues its chain and tree", async () => {
  const t = await makeLog(7, 5);
  const log = new AuditLog(t.path, { signer: t.signer, checkpointEvery: 5, checkpointMs: 60_000 });
  for (let i = 7; i < 16; i++) {
    log.append(fields(i));
    log.commit();
  }
  await log.close();
  const r = await verifyLog(t.path, t.signer.did);
  assertEquals([r.ok, r.entries, r.covered], [true, 16, 16]);
});

Deno.test("keystore: 0600 files, passphrase encryption, clear errors", async () => {
  const dir = await Deno.makeTempDir();
  const ks = new Keystore(join(dir, "k"), "correct horse");
  const s = await ks.signer("host");
  const file = join(dir, "k", "host.key.json");
  assertEquals((Deno.statSync(file).mode! & 0o777).toString(8), "600");
  assertEquals((Deno.statSync(join(dir, "k")).mode! & 0o777).toString(8), "700");
  if (Deno.readTextFileSync(file).includes("MC4CAQAw")) throw new Error("plaintext PKCS#8 on disk");
  assertEquals((await new Keystore(join(dir, "k"), "correct horse").signer("host")).did, s.did);
  const wrong = await new Keystore(join(dir, "k"), "wrong").signer("host").catch((e) => e.message);
  assertEquals(wrong, `${file}: wrong passphrase`);
  Deno.chmodSync(file, 0o644);
  const loose = await new Keystore(join(dir, "k"), "correct horse").signer("host").catch((e) =>
    e.message
  );
  assertEquals(loose, `${file}: key file permissions are 644, expected 600`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("hashes match an independent SHA-256 (node createHash): chain, leaf and interior nodes", async () => {
  const { createHash } = await import("node:crypto");
  const { hashBody, nodeHash } = await import("../../governance/audit/mod.ts");
  const ref = (...parts: (string | Uint8Array)[]) => {
    const h = createHash("sha256");
    for (const p of parts) h.update(p);
    return h.digest();
  };
  const prev = "ab".repeat(32), body = '{"seq":1,"é":"😀\\u2028"}';
  assertEquals(hashBody(prev, body), ref(new Uint8Array([0]), prev, body).toString("hex"));
  assertEquals(hex(leafHash(body)), ref(new Uint8Array([0]), body).toString("hex"));
  const [l, r] = [leafHash("a"), leafHash("b")];
  assertEquals(hex(nodeHash(l, r)), ref(new Uint8Array([1]), l, r).toString("hex"));
  const odd = new Uint8Array([9, 9]);
  assertEquals(hex(nodeHash(odd, r)), ref(new Uint8Array([1]), odd, r).toString("hex"));
  const leaves = ["a", "b", "c"].map(leafHash);
  const want = ref(new Uint8Array([1]), ref(new Uint8Array([1]), leaves[0], leaves[1]), leaves[2]);
  assertEquals(hex(merkleRoot(leaves)), want.toString("hex"));
});
