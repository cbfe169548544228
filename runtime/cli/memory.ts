/**
 * `deno task memory list [--quarantined] [--namespace NS] [--limit N] [STORE]` — memory
 *   entries, newest first, one a line (id, status, namespace/key, writer, trust, source, hash).
 * `deno task memory show <id> [STORE]` — one entry with its value and provenance (JSON).
 * `deno task memory quarantine <id> [STORE]` — withhold an entry from readers.
 * `deno task memory quarantine --by DID --since T [STORE]` — withhold everything DID wrote
 *   at or after T (ISO time or ms since the epoch): a writer whose trust fell, retroactively.
 * `deno task memory release <id> [STORE]` — release a quarantined entry to readers (it
 *   becomes its key's visible entry). Entries modified outside Warden are never released.
 * `deno task memory reject <id> [STORE]` — reject a quarantined entry: deleted, never read.
 * STORE is `--state DIR` (the single host's `<DIR>/memory.db`), or `--fleet URL` (the fleet
 * database's memory, as every fleet host reads it); with neither, `WARDEN_FLEET_URL` when set,
 * else the warden home's `memory.db` (as `deno task run` uses). A running host sees each change
 * on its next read. Exit 0, 1 on a failure (one line; the fleet database down included), 2 on
 * bad usage.
 */
import { join } from "node:path";
import { CliError, type CliSpec, command, intFlag, runCli, UsageError } from "./runner.ts";
import { type MemoryBackend, MemoryStore, type StoredEntry } from "../memory/store.ts";
import { visible } from "./colour.ts";
import { wardenHome } from "../state.ts";
import { connectFleetDb, type FleetDb, fleetUrl } from "../fleet/db.ts";
import { PgMemoryStore } from "../fleet/memory_store.ts";

type Values = {
  state?: string;
  fleet?: string;
  quarantined?: boolean;
  namespace?: string;
  limit?: string;
  by?: string;
  since?: string;
};
type Args = { values: Values; positionals: string[] };

/**
 * The store the flags name: `--fleet URL` (or `WARDEN_FLEET_URL` without `--state`), else the
 * state dir's SQLite file; a missing or unreachable one is one line naming it.
 */
async function withStore<T>(o: Values, f: (s: MemoryBackend) => T | Promise<T>): Promise<T> {
  if (o.fleet !== undefined && o.state !== undefined) {
    throw new UsageError("--state and --fleet name different stores: give one");
  }
  const url = o.state === undefined ? fleetUrl(o.fleet) : undefined;
  if (url !== undefined) return await withFleetStore(url, f);
  const path = join(o.state ?? wardenHome(), "memory.db");
  let store: MemoryStore;
  try {
    Deno.statSync(path);
    Deno.statSync(`${path}.key`);
  } catch {
    throw new CliError(`${path}: no memory store (or its .key) here`);
  }
  try {
    store = new MemoryStore(path, { create: false });
  } catch (e) {
    throw new CliError(`${path}: ${(e as Error).message}`);
  }
  try {
    return await f(store);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new CliError((e as Error).message);
  } finally {
    store.close();
  }
}

/** The fleet database's memory (every call with a deadline: a database down is one line). */
async function withFleetStore<T>(
  url: string,
  f: (s: MemoryBackend) => T | Promise<T>,
): Promise<T> {
  let db: FleetDb;
  try {
    db = connectFleetDb(url, { deadlineMs: 10_000 });
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  try {
    return await f(new PgMemoryStore(db, "cli", 10_000));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const msg = (e as Error).message;
    throw new CliError(
      /memory_(entries|seal_key|usage)" does not exist/.test(msg)
        ? `${db.where}: the fleet database has no memory tables yet (start a fleet host first)`
        : msg,
    );
  } finally {
    await db.close();
  }
}

function line(e: StoredEntry): string {
  const p = e.provenance;
  return [
    String(e.id).padStart(6),
    (e.intact ? e.status : "TAMPERED").padEnd(11),
    `${e.namespace}/${e.key}`,
    `${p.writerName} (${p.writer})`,
    `trust ${Math.round(p.trust)}`,
    `${p.source.kind}${p.source.ref ? `:${p.source.ref}` : ""}`,
    new Date(p.at).toISOString(),
    p.sha256.slice(0, 16),
    e.note ?? "",
  ].map(visible).join("  ").trimEnd();
}

/**
 * A line of JSON made terminal-safe and still JSON: the characters `visible` shows as escapes
 * (they can only be inside strings here) become `\uXXXX` escapes, each UTF-16 unit.
 */
function jsonVisible(line: string): string {
  return line.replace(
    /[\p{Cc}\p{Cf}\u2028\u2029]/gu,
    (c) => c.split("").map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, "0")}`).join(""),
  );
}

function entryId(s: string): number {
  return intFlag("<id>", s, 1, Number.MAX_SAFE_INTEGER)!;
}

function since(v: string): number {
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t)) {
    throw new UsageError(`--since: expected an ISO time or ms since the epoch, got "${v}"`);
  }
  return t;
}

const state = { state: { type: "string" }, fleet: { type: "string" } } as const;
const inState = { args: (p: string) => ["--state", p], inDir: "memory.db" } as const;
const operator = () => `operator ${Deno.env.get("USER") ?? "unknown"} via deno task memory`;

/** `deno task memory`. */
export const spec: CliSpec = {
  name: "memory",
  notes: "STORE: --state DIR (a single host's memory.db) | --fleet URL (the fleet database)\n" +
    "default STORE: $WARDEN_FLEET_URL when set, else the warden home ($WARDEN_HOME or " +
    "~/.local/state/warden)",
  subcommands: {
    list: command({
      args: "[--quarantined] [--namespace NS] [--limit N] [STORE]",
      options: {
        ...state,
        quarantined: { type: "boolean" },
        namespace: { type: "string" },
        limit: { type: "string" },
      },
      files: [inState],
      main: ({ values }: Args) =>
        withStore(values, async (s) => {
          const limit = intFlag("limit", values.limit, 1, 1_000_000) ?? 100;
          const status = values.quarantined ? "quarantined" : undefined;
          for (const e of await s.all({ status, namespace: values.namespace, limit })) {
            console.log(line(e));
          }
          return 0;
        }),
    }),
    show: command({
      args: "<id> [STORE]",
      options: state,
      positionals: [1, 1],
      main: ({ values, positionals: [id] }: Args) =>
        withStore(values, async (s) => {
          const e = await s.byId(entryId(id));
          if (!e) throw new CliError(`no memory entry ${id}`);
          const json = JSON.stringify({ ...e, value: JSON.parse(e.value) }, null, 2);
          console.log(json.split("\n").map(jsonVisible).join("\n"));
          return 0;
        }),
    }),
    quarantine: command({
      args: "<id> | --by DID --since T [STORE]",
      options: { ...state, by: { type: "string" }, since: { type: "string" } },
      positionals: [0, 1],
      main: ({ values, positionals }: Args) => {
        const byWriter = values.by !== undefined || values.since !== undefined;
        if (byWriter === (positionals.length === 1)) {
          throw new UsageError("give either an entry id or --by DID --since T");
        }
        if (byWriter && (values.by === undefined || values.since === undefined)) {
          throw new UsageError("--by and --since go together");
        }
        return withStore(values, async (s) => {
          if (!byWriter) {
            const e = await s.quarantine(entryId(positionals[0]), operator());
            console.log(`quarantined ${line(e)}`);
            return 0;
          }
          const t = since(values.since!);
          const hit = await s.quarantineBy(
            values.by!,
            t,
            `${operator()}: writes by ${values.by} since ${new Date(t).toISOString()}`,
          );
          for (const e of hit) console.log(`quarantined ${line(e)}`);
          console.log(`${hit.length} entries quarantined`);
          return 0;
        });
      },
    }),
    release: command({
      args: "<id> [STORE]",
      options: state,
      positionals: [1, 1],
      main: ({ values, positionals: [id] }: Args) =>
        withStore(values, async (s) => {
          const e = await s.release(entryId(id), `released by ${operator()}`);
          console.log(`released ${line(e)}`);
          return 0;
        }),
    }),
    reject: command({
      args: "<id> [STORE]",
      options: state,
      positionals: [1, 1],
      main: ({ values, positionals: [id] }: Args) =>
        withStore(values, async (s) => {
          const e = await s.reject(entryId(id));
          console.log(`rejected ${line(e)}`);
          return 0;
        }),
    }),
  },
};

if (import.meta.main) await runCli(spec);
