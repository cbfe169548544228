/**
 * `deno task memory list [--quarantined] [--namespace NS] [--limit N] [--state DIR]` — memory
 *   entries, newest first, one a line (id, status, namespace/key, writer, trust, source, hash).
 * `deno task memory show <id> [--state DIR]` — one entry with its value and provenance (JSON).
 * `deno task memory quarantine <id> [--state DIR]` — withhold an entry from readers.
 * `deno task memory quarantine --by DID --since T [--state DIR]` — withhold everything DID wrote
 *   at or after T (ISO time or ms since the epoch): a writer whose trust fell, retroactively.
 * `deno task memory release <id> [--state DIR]` — release a quarantined entry to readers (it
 *   becomes its key's visible entry). Entries modified outside Warden are never released.
 * The store is `<state>/memory.db` (default: the warden home, as `deno task run` uses); a running
 * host sees each change on its next read. Exit 0, 1 on a failure, 2 on bad usage.
 */
import { join } from "node:path";
import { CliError, type CliSpec, command, intFlag, runCli, UsageError } from "./runner.ts";
import { MemoryStore, type StoredEntry } from "../memory/store.ts";
import { visible } from "./colour.ts";
import { wardenHome } from "../state.ts";

type Values = {
  state?: string;
  quarantined?: boolean;
  namespace?: string;
  limit?: string;
  by?: string;
  since?: string;
};
type Args = { values: Values; positionals: string[] };

/** The store of the state dir; a missing or unreadable one is one line naming it. */
function withStore<T>(o: Values, f: (s: MemoryStore) => T): T {
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
    return f(store);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new CliError((e as Error).message);
  } finally {
    store.close();
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

const state = { state: { type: "string" } } as const;
const inState = { args: (p: string) => ["--state", p], inDir: "memory.db" } as const;
const operator = () => `operator ${Deno.env.get("USER") ?? "unknown"} via deno task memory`;

/** `deno task memory`. */
export const spec: CliSpec = {
  name: "memory",
  notes: "options: --state DIR (default: the warden home, $WARDEN_HOME or ~/.local/state/warden)",
  subcommands: {
    list: command({
      args: "[--quarantined] [--namespace NS] [--limit N] [--state DIR]",
      options: {
        ...state,
        quarantined: { type: "boolean" },
        namespace: { type: "string" },
        limit: { type: "string" },
      },
      files: [inState],
      main: ({ values }: Args) =>
        withStore(values, (s) => {
          const limit = intFlag("limit", values.limit, 1, 1_000_000) ?? 100;
          const status = values.quarantined ? "quarantined" : undefined;
          for (const e of s.all({ status, namespace: values.namespace, limit })) {
            console.log(line(e));
          }
          return 0;
        }),
    }),
    show: command({
      args: "<id> [--state DIR]",
      options: state,
      positionals: [1, 1],
      main: ({ values, positionals: [id] }: Args) =>
        withStore(values, (s) => {
          const e = s.byId(entryId(id));
          if (!e) throw new CliError(`no memory entry ${id}`);
          const json = JSON.stringify({ ...e, value: JSON.parse(e.value) }, null, 2);
          console.log(json.split("\n").map(jsonVisible).join("\n"));
          return 0;
        }),
    }),
    quarantine: command({
      args: "<id> | --by DID --since T [--state DIR]",
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
        return withStore(values, (s) => {
          if (!byWriter) {
            const e = s.quarantine(entryId(positionals[0]), operator());
            console.log(`quarantined ${line(e)}`);
            return 0;
          }
          const t = since(values.since!);
          const hit = s.quarantineBy(
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
      args: "<id> [--state DIR]",
      options: state,
      positionals: [1, 1],
      main: ({ values, positionals: [id] }: Args) =>
        withStore(values, (s) => {
          const e = s.release(entryId(id), `released by ${operator()}`);
          console.log(`released ${line(e)}`);
          return 0;
        }),
    }),
  },
};

if (import.meta.main) await runCli(spec);
