/** Envelope verification: every rejection class, pure (injected clock). */
import { assertEquals } from "../policy/asserts.ts";
import { ReplayGuard, sealEnvelope, signerFromKeyPair } from "../../governance/identity/mod.ts";

/** The real randomness, injected into the pure envelope sealing. */
const random = (b: Uint8Array) => crypto.getRandomValues(b);

const key = async () =>
  signerFromKeyPair(
    await crypto.subtle.generateKey({ name: "Ed25519" }, false, [
      "sign",
      "verify",
    ]) as CryptoKeyPair,
  );

Deno.test("envelopes: accepted once; replay, staleness, window, recipient, tampering, signature rejected", async () => {
  const alice = await key(), bob = await key(), mallory = await key();
  const now = 1_800_000_000_000;
  const g = new ReplayGuard({ maxAgeMs: 60_000, seqWindow: 10 });
  const p = { task: "summarize", n: 1 };
  const e1 = await sealEnvelope(alice, bob.did, p, 1, now, random);
  assertEquals(typeof await g.accept(e1, p, bob.did, now + 5), "object");
  assertEquals(await g.accept(e1, p, bob.did, now + 6), "replayed nonce");
  const old = await sealEnvelope(alice, bob.did, p, 2, now - 120_000, random);
  assertEquals(await g.accept(old, p, bob.did, now), "stale timestamp");
  const future = await sealEnvelope(alice, bob.did, p, 2, now + 120_000, random);
  assertEquals(await g.accept(future, p, bob.did, now), "stale timestamp");
  const again = await sealEnvelope(alice, bob.did, p, 1, now, random); // fresh nonce, old sequence
  assertEquals(await g.accept(again, p, bob.did, now), "sequence out of window");
  const jump = await sealEnvelope(alice, bob.did, p, 50, now, random);
  assertEquals(await g.accept(jump, p, bob.did, now), "sequence out of window");
  const e2 = await sealEnvelope(alice, bob.did, p, 2, now, random);
  assertEquals(await g.accept(e2, p, mallory.did, now), "wrong recipient");
  assertEquals(await g.accept(e2, { ...p, n: 2 }, bob.did, now), "tampered payload");
  assertEquals(await g.accept({ ...e2, from: mallory.did }, p, bob.did, now), "bad signature");
  assertEquals(await g.accept({ ...e2, seq: 3 }, p, bob.did, now), "bad signature");
  assertEquals(await g.accept({ ...e2, extra: 1 }, p, bob.did, now), "malformed envelope");
  assertEquals(await g.accept("garbage", p, bob.did, now), "malformed envelope");
  assertEquals(typeof await g.accept(e2, p, bob.did, now), "object"); // the genuine one still goes through
});

Deno.test("payload hashing is canonical: key order does not matter, values do", async () => {
  const alice = await key(), bob = await key();
  const g = new ReplayGuard();
  const e = await sealEnvelope(alice, bob.did, { a: 1, b: [1, 2] }, 1, Date.now(), random);
  assertEquals(typeof await g.accept(e, { b: [1, 2], a: 1 }, bob.did, Date.now()), "object");
});

Deno.test("envelopes: the nonce comes from the injected randomness (sealing is pure)", async () => {
  const alice = await key(), bob = await key();
  const now = 1_800_000_000_000;
  const fixed = (b: Uint8Array) => b.fill(7);
  const e1 = await sealEnvelope(alice, bob.did, { n: 1 }, 1, now, fixed);
  assertEquals(e1.nonce, "BwcHBwcHBwcHBwcHBwcHBw");
  // A filler that hands back another (longer) array cannot change the nonce's size.
  const e2 = await sealEnvelope(alice, bob.did, { n: 1 }, 2, now, () => new Uint8Array(64));
  assertEquals(e2.nonce, "AAAAAAAAAAAAAAAAAAAAAA");
  // The same injected bytes twice are a replay, whatever the sequence.
  const g = new ReplayGuard();
  assertEquals(typeof await g.accept(e1, { n: 1 }, bob.did, now), "object");
  const e3 = await sealEnvelope(alice, bob.did, { n: 1 }, 3, now, fixed);
  assertEquals(await g.accept(e3, { n: 1 }, bob.did, now), "replayed nonce");
});
