/**
 * Audit: the sha-256 hash chain over decision records, the RFC 6962 Merkle tree over the
 * same lines, and signed checkpoints.
 * @module
 */
export {
  type AuditEntry,
  type AuditFields,
  canonicalJson,
  chainEntry,
  entryHash,
  GENESIS,
  hashBody,
  verifyChain,
  verifyLines,
} from "./chain.ts";
export {
  EMPTY_ROOT,
  hex,
  inclusionProof,
  leafHash,
  MerkleFrontier,
  merkleRoot,
  nodeHash,
  unhex,
  verifyInclusion,
} from "./merkle.ts";
export {
  type Checkpoint,
  checkpointBytes,
  signCheckpoint,
  verifyCheckpoint,
} from "./checkpoint.ts";
