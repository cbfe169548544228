/**
 * `deno task saga list [--state DIR]` — every saga in the state dir's journal, one a line.
 * `deno task saga show <id> [--state DIR]` — one saga's state and its steps (JSON).
 * `deno task saga retry <id> [--state DIR]` — resume a `needs_attention` saga's compensation:
 *   journals the retry; the host's orchestrator runs the compensation when it resumes open
 *   sagas (this CLI holds no tools to run it itself).
 * The state directory defaults to the one `deno task run` uses ($WARDEN_HOME, else
 * ~/.local/state/warden). Exit 0, 1 on a failure, 2 on bad usage.
 */
import { parseCli } from "./args.ts";
import { replay, type SagaState } from "../../governance/saga/mod.ts";
import { FileSagaJournal, journalPath } from "../saga/journal.ts";
import { wardenHome } from "../state.ts";

const USAGE = `usage: deno task saga list [--state DIR]
       deno task saga show <id> [--state DIR]
       deno task saga retry <id> [--state DIR]`;

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

async function main(): Promise<number> {
  const parsed = parseCli({ state: { type: "string" } }, USAGE);
  if (!parsed) return 2;
  const { values: o, positionals: [cmd, id, ...rest] } = parsed;
  const state = o.state ?? wardenHome();
  const journal = new FileSagaJournal(journalPath(state));
  try {
    const sagas = replay(await journal.load());
    if (cmd === "list" && id === undefined) {
      for (const s of sagas.values()) console.log(line(s));
      return 0;
    }
    if ((cmd === "show" || cmd === "retry") && id !== undefined && rest.length === 0) {
      const s = sagas.get(id);
      if (!s) {
        console.error(`no saga ${id} in ${journal.path}`);
        return 1;
      }
      if (cmd === "show") {
        console.log(JSON.stringify(s, null, 2));
        return 0;
      }
      if (s.status !== "needs_attention") {
        console.error(`saga ${id} is ${s.status}, not needs_attention`);
        return 1;
      }
      await journal.append({ type: "saga.retry", saga: id, ts: Date.now() });
      console.log(`saga ${id}: compensation will resume when the host resumes open sagas`);
      return 0;
    }
    console.error(USAGE);
    return 2;
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 1;
  } finally {
    journal.close();
  }
}

Deno.exit(await main());
