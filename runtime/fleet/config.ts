/**
 * Fleet boot configuration: the database URL (`--fleet URL` or `WARDEN_FLEET_URL`), the
 * `--fleet-config FILE` (JSON, checked here), and the flags that override it.
 */
import { z } from "zod";
import type { Wakeup } from "./db.ts";

/** The `--fleet-config` file. Times are milliseconds. */
export const FleetConfigFile = z.strictObject({
  /** notify: LISTEN/NOTIFY wake-ups plus polling; poll: polling only (CockroachDB mode). */
  wakeup: z.enum(["notify", "poll"]).optional(),
  /** The policy channel this host follows (none: the host keeps its --policy files). */
  channel: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/).optional(),
  /** Dids whose signatures on policy bundles this host accepts. */
  publishers: z.array(z.string().startsWith("did:")).optional(),
  /** This host's id in the fleet (default: a random id kept in `$WARDEN_HOME/fleet/host-id`). */
  hostId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).optional(),
  /** No successful catch-up for this long → isolation (default 30 s). */
  staleMs: z.number().int().min(500).max(3_600_000).optional(),
  /** What isolation does to running agents: keep them (default) or stop them. */
  isolated: z.enum(["continue", "stop"]).optional(),
  leaseMs: z.number().int().min(1_000).max(600_000).optional(),
  renewMs: z.number().int().min(100).max(60_000).optional(),
  revocationPollMs: z.number().int().min(50).max(60_000).optional(),
  policyPollMs: z.number().int().min(50).max(600_000).optional(),
  approvalPollMs: z.number().int().min(50).max(60_000).optional(),
  /** How long a parked approval waits (default 5 min). */
  approvalTtlMs: z.number().int().min(100).max(86_400_000).optional(),
  /** Deadline of one database call (default 5 s). */
  queryDeadlineMs: z.number().int().min(100).max(120_000).optional(),
});

/** A host's resolved fleet configuration. */
export interface FleetConfig {
  url: string;
  wakeup: Wakeup;
  channel?: string;
  publishers: string[];
  hostId?: string;
  staleMs: number;
  isolated: "continue" | "stop";
  leaseMs: number;
  renewMs: number;
  revocationPollMs: number;
  policyPollMs: number;
  approvalPollMs: number;
  approvalTtlMs: number;
  queryDeadlineMs: number;
  /** `$WARDEN_HOME/fleet`: persisted bundle, deny set, applied positions. */
  dir: string;
  /** This host's control-plane URL (written to `hosts.api_url`). */
  apiUrl?: string;
  /** This host's peer endpoint URL (written to `hosts.peer_url`). */
  peerUrl?: string;
}

/** Defaults (FLEET.md §9): lease 10 s renewed every 2 s, polls 1 s and 5 s, T_stale 30 s. */
export const FLEET_DEFAULTS = {
  wakeup: "notify",
  staleMs: 30_000,
  isolated: "continue",
  leaseMs: 10_000,
  renewMs: 2_000,
  revocationPollMs: 1_000,
  policyPollMs: 5_000,
  approvalPollMs: 1_000,
  approvalTtlMs: 300_000,
  queryDeadlineMs: 5_000,
} as const;

/** Merge a config file's content, flags and defaults. */
export function fleetConfig(
  url: string,
  dir: string,
  file: z.infer<typeof FleetConfigFile> = {},
  flags: Partial<Pick<FleetConfig, "wakeup" | "channel" | "apiUrl" | "peerUrl">> = {},
): FleetConfig {
  const defined = <T extends object>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    ...FLEET_DEFAULTS,
    publishers: [],
    ...defined(file),
    ...defined(flags),
    url,
    dir,
  } as FleetConfig;
}
