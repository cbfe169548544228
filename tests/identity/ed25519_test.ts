/**
 * Ed25519 as Warden uses it (WebCrypto), cross-checked against @noble/ed25519: RFC 8032
 * vectors, interoperability both ways, did:key round trips, and the pinned rule for
 * non-canonical signatures (S >= L is rejected).
 */
import * as noble from "@noble/ed25519";
import { assertEquals } from "../policy/asserts.ts";
import {
  b64url,
  didFromPublicKey,
  publicKeyFromDid,
  signerFromKeyPair,
  verifyDid,
} from "../../governance/identity/mod.ts";

const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

// RFC 8032 §7.1, tests 1-3.
const VECTORS = [
  {
    sk: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    pk: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    msg: "",
    sig:
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    sk: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    pk: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    msg: "72",
    sig:
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
  {
    sk: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    pk: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    msg: "af82",
    sig:
      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
  },
];

async function webcryptoSigner(seedHex: string, pkHex: string) {
  const jwk = { kty: "OKP", crv: "Ed25519", d: b64url(unhex(seedHex)), x: b64url(unhex(pkHex)) };
  const privateKey = await crypto.subtle.importKey("jwk", jwk, { name: "Ed25519" }, true, ["sign"]);
  const publicKey = await crypto.subtle.importKey(
    "jwk",
    { kty: "OKP", crv: "Ed25519", x: jwk.x },
    { name: "Ed25519" },
    true,
    ["verify"],
  );
  return signerFromKeyPair({ privateKey, publicKey });
}

Deno.test("RFC 8032 vectors: WebCrypto and noble produce and accept the published signatures", async () => {
  for (const v of VECTORS) {
    const s = await webcryptoSigner(v.sk, v.pk);
    assertEquals(hex(s.publicKey), v.pk);
    assertEquals(hex(await s.sign(unhex(v.msg))), v.sig);
    assertEquals(hex(await noble.getPublicKeyAsync(unhex(v.sk))), v.pk);
    assertEquals(hex(await noble.signAsync(unhex(v.msg), unhex(v.sk))), v.sig);
    assertEquals(await verifyDid(didFromPublicKey(unhex(v.pk)), unhex(v.msg), unhex(v.sig)), true);
    assertEquals(await noble.verifyAsync(unhex(v.sig), unhex(v.msg), unhex(v.pk)), true);
  }
});

Deno.test("interoperability both ways on random keys and messages", async () => {
  for (let i = 0; i < 20; i++) {
    const msg = crypto.getRandomValues(new Uint8Array(i * 13));
    // WebCrypto signs, noble verifies.
    const kp = await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
      "sign",
      "verify",
    ]) as CryptoKeyPair;
    const s = await signerFromKeyPair(kp);
    const sig = await s.sign(msg);
    assertEquals(await noble.verifyAsync(sig, msg, s.publicKey), true);
    // noble signs, Warden (WebCrypto) verifies through the did:key.
    const sk = noble.utils.randomSecretKey();
    const pk = await noble.getPublicKeyAsync(sk);
    const nsig = await noble.signAsync(msg, sk);
    assertEquals(await verifyDid(didFromPublicKey(pk), msg, nsig), true);
    const flipped = nsig.slice();
    flipped[5] ^= 1;
    assertEquals(await verifyDid(didFromPublicKey(pk), msg, flipped), false);
  }
});

Deno.test("did:key round trip and rejection of other key types", () => {
  const pk = unhex(VECTORS[0].pk);
  const did = didFromPublicKey(pk);
  if (!did.startsWith("did:key:z6Mk")) throw new Error(did);
  assertEquals(hex(publicKeyFromDid(did)), VECTORS[0].pk);
  let msg = "";
  try {
    publicKeyFromDid("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme");
  } catch (e) {
    msg = (e as Error).message;
  }
  if (!msg.startsWith("not an Ed25519 did:key")) throw new Error(msg);
});

Deno.test("pinned rule: a non-canonical signature (S + L) is rejected, by Warden and by noble", async () => {
  const L = (1n << 252n) + 27742317777372353535851937790883648493n;
  const v = VECTORS[1];
  const sig = unhex(v.sig);
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]);
  let t = s + L; // same scalar mod L: a "malleated" twin of a valid signature
  const twin = sig.slice();
  for (let i = 0; i < 32; i++) {
    twin[32 + i] = Number(t & 0xffn);
    t >>= 8n;
  }
  assertEquals(await verifyDid(didFromPublicKey(unhex(v.pk)), unhex(v.msg), twin), false);
  assertEquals(await noble.verifyAsync(twin, unhex(v.msg), unhex(v.pk)).catch(() => false), false);
  // And the wrong length is never accepted.
  assertEquals(
    await verifyDid(didFromPublicKey(unhex(v.pk)), unhex(v.msg), sig.slice(0, 63)),
    false,
  );
});
