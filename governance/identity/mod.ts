/**
 * Identity: did:key for Ed25519 keys.
 * @module
 */
export { base58, didFromPublicKey, publicKeyFromDid, unbase58 } from "./did.ts";
export { b64url, type Signer, signerFromKeyPair, unb64url, verifyDid } from "./sign.ts";
export {
  Envelope,
  type GuardOptions,
  payloadHash,
  type RandomFill,
  type Rejection,
  ReplayGuard,
  sealEnvelope,
} from "./envelope.ts";
