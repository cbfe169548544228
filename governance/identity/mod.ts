/**
 * Identity: did:key for Ed25519 keys.
 * @module
 */
export { base58, didFromPublicKey, publicKeyFromDid, unbase58 } from "./did.ts";
