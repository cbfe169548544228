/**
 * The fleet schema's ordered migrations, applied at start by `migrate` (`../migrate.ts`).
 *
 * Shape (add yours at the end, one file per migration, `NNN_name.ts` exporting a `Migration`):
 *
 * ```ts
 * export const migration: Migration = {
 *   version: 2,               // next integer; never reuse or reorder
 *   name: "trust_sagas_audit",
 *   sql: `CREATE TABLE ...;`, // one or more statements, run in one transaction
 *   appendOnly: ["audit_entries", "audit_checkpoints"], // host role: INSERT + SELECT only
 * };
 * ```
 *
 * Every table a migration creates is granted to host roles by `grantHostRole` (SELECT, INSERT,
 * UPDATE, DELETE), except those listed in `appendOnly` (SELECT, INSERT). Keep to the portable
 * subset (FLEET.md §8): tables, primary keys, `ON CONFLICT`, no sequences' order, no triggers
 * that NOTIFY.
 */
import { migration as core } from "./001_core.ts";
import { migration as shared } from "./002_shared_state.ts";
import { migration as memory } from "./003_memory.ts";

/** One schema step. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Tables host roles may only INSERT into and SELECT from. */
  appendOnly?: string[];
}

/** Every migration, in version order. */
export const MIGRATIONS: readonly Migration[] = [core, shared, memory];
