/**
 * `deno task saga list [--state DIR]` — every saga in the state dir's journal, one a line.
 * `deno task saga show <id> [--state DIR]` — one saga's state and its steps (JSON).
 * `deno task saga retry <id> [--state DIR]` — resume a `needs_attention` saga's compensation:
 *   journals the retry; the host's orchestrator runs the compensation when it resumes open
 *   sagas (this CLI holds no tools to run it itself).
 * The state directory defaults to the one `deno task run` uses ($WARDEN_HOME, else
 * ~/.local/state/warden). Exit 0, 1 on a failure, 2 on bad usage.
 */
import { CliError, type CliSpec, command, runCli } from "./runner.ts";
import { replay, type SagaState } from "../../governance/saga/mod.ts";
import { FileSagaJournal, journalPath } from "../saga/journal.ts";
import { wardenHome } from "../state.ts";

function line(s: SagaState): string {
  const done = s.steps.filter((st) => st.status === "succeeded").length;
  return [
    s.id,
    s.status.padEnd(15),
    `${done}/${s.steps.length}`,
    s.name,
    s.agent.name,
    new Date(s.updatedAt).toISOString(),
    s.reason ?? "",
  ].join("  ").trimEnd();
}

type Args = { values: { state?: string }; positionals: string[] };

/** The saga journal of the state dir, replayed; a bad journal is one line naming it. */
async function withSagas<T>(
  o: { state?: string },
  f: (sagas: Map<string, SagaState>, journal: FileSagaJournal) => Promise<T> | T,
): Promise<T> {
  const journal = new FileSagaJournal(journalPath(o.state ?? wardenHome()));
  try {
    let records;
    try {
      records = await journal.load();
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    return await f(replay(records), journal);
  } finally {
    journal.close();
  }
}

function one(sagas: Map<string, SagaState>, id: string, journal: FileSagaJournal): SagaState {
  const s = sagas.get(id);
  if (!s) throw new CliError(`no saga ${id} in ${journal.path}`);
  return s;
}

const state = { state: { type: "string" } } as const;
const inState = {
  args: (p: string) => ["--state", p],
  inDir: "sagas.jsonl",
  missing: false,
} as const;

/** `deno task saga`. */
export const spec: CliSpec = {
  name: "saga",
  notes: "options: --state DIR (default: the warden home, $WARDEN_HOME or ~/.local/state/warden)",
  subcommands: {
    list: command({
      args: "[--state DIR]",
      options: state,
      files: [inState],
      main: ({ values }: Args) =>
        withSagas(values, (sagas) => {
          for (const s of sagas.values()) console.log(line(s));
          return 0;
        }),
    }),
    show: command({
      args: "<id> [--state DIR]",
      options: state,
      positionals: [1, 1],
      main: ({ values, positionals: [id] }: Args) =>
        withSagas(values, (sagas, journal) => {
          console.log(JSON.stringify(one(sagas, id, journal), null, 2));
          return 0;
        }),
    }),
    retry: command({
      args: "<id> [--state DIR]",
      options: state,
      positionals: [1, 1],
      main: ({ values, positionals: [id] }: Args) =>
        withSagas(values, async (sagas, journal) => {
          const s = one(sagas, id, journal);
          if (s.status !== "needs_attention") {
            throw new CliError(`saga ${id} is ${s.status}, not needs_attention`);
          }
          await journal.append({ type: "saga.retry", saga: id, ts: Date.now() });
          console.log(`saga ${id}: compensation will resume when the host resumes open sagas`);
          return 0;
        }),
    }),
  },
};

if (import.meta.main) await runCli(spec);
