/**
 * Audit: the sha-256 hash chain over decision records.
 * @module
 */
export {
  type AuditEntry,
  type AuditFields,
  canonicalJson,
  chainEntry,
  entryHash,
  GENESIS,
  verifyChain,
} from "./chain.ts";
