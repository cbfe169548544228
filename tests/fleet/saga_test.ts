/**
 * A3 saga takeover: a host killed -9 mid-saga is replaced by another host, which resumes the
 * saga from the shared journal (each idempotency key's effect once, journal contiguous, one
 * terminal record); a zombie host (SIGSTOP, then SIGCONT) cannot append or act any further.
 */
import { assert, assertEquals } from "../policy/asserts.ts";
import { connectFleetDb, type FleetDb } from "../../runtime/fleet/db.ts";
import { migrate } from "../../runtime/fleet/migrate.ts";
import { OwnershipLost, PgSagaJournal } from "../../runtime/fleet/sagas.ts";
import { SagaOrchestrator } from "../../runtime/saga/orchestrator.ts";
import { AGENT, makeGovernor, saga } from "../saga/helpers.ts";
import { ledgerExecute, readLedger } from "../saga/ledger_tools.ts";
import { freshDatabase } from "./pg.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const CHILD = new URL("./saga_child.ts", import.meta.url).pathname;
const TERMINAL = ["saga.completed", "saga.compensated", "saga.failed"];

/** A child host; its stdout lines collect in `lines`. */
function host(args: string[], env: Record<string, string> = {}) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", CHILD, ...args],
    stdout: "piped",
    stderr: "inherit",
    env,
  }).spawn();
  const lines: string[] = [];
  const done = (async () => {
    let buf = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      const parts = buf.split("\n");
      buf = parts.pop()!;
      lines.push(...parts);
    }
  })();
  return { child, lines, done };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 60_000) {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Each key's effect once; n contiguous from 0; exactly one terminal record, the last. */
async function checkJournal(db: FleetDb, id: string, ledger: string): Promise<string[]> {
  const effects = readLedger(ledger).filter((l) => l.event === "effect").map((l) => l.key);
  assertEquals(effects.length, new Set(effects).size, `duplicate effects: ${effects}`);
  const rows = await db.q(
    "records",
    (s) => s`SELECT n, record->>'type' AS type FROM saga_records WHERE saga_id = ${id} ORDER BY n`,
  );
  assertEquals(rows.map((r) => r.n), rows.map((_, i) => i));
  const types = rows.map((r) => r.type as string);
  assertEquals(types.filter((t) => TERMINAL.includes(t)).length, 1, types.join(","));
  assert(TERMINAL.includes(types[types.length - 1]));
  return effects;
}

async function setup(): Promise<{ url: string; db: FleetDb; dir: string }> {
  const url = await freshDatabase();
  const db = connectFleetDb(url);
  await migrate(db);
  return { url, db, dir: Deno.makeTempDirSync({ prefix: "warden-fleet-saga-" }) };
}

// Kill points: after step 0's effect, mid step 1 (effect landed, call hanging).
for (const at of ["trip:0:do", "trip:1:do"]) {
  Deno.test({
    name: `fleet sagas: host A killed -9 at ${at}, host B resumes; effects once, journal whole`,
    ...opts,
    fn: async () => {
      const { url, db, dir } = await setup();
      const ledger = `${dir}/ledger.jsonl`;
      const id = `trip-${at.split(":")[1]}`;
      const key = at.replace("trip", id);
      const a = host([url, "A", ledger, `run:${id}`]);
      const b = host([url, "B", ledger, "sweep"], { SHIP_MS: "0" });
      try {
        await until(`effect ${key}`, () => readLedger(ledger).some((l) => l.key === key));
        a.child.kill("SIGKILL");
        assertEquals((await a.child.status).signal, "SIGKILL");
        await until("B completes the saga", () => b.lines.includes(`DONE ${id} completed`));
        const effects = await checkJournal(db, id, ledger);
        assertEquals(effects, [`${id}:0:do`, `${id}:1:do`, `${id}:2:do`]);
        const [s] = await db.q(
          "owner",
          (q) => q`SELECT owner_host, epoch::int AS epoch, status FROM sagas WHERE saga_id = ${id}`,
        );
        assertEquals([s.owner_host, s.epoch, s.status], ["B", 2, "completed"]);
      } finally {
        b.child.kill("SIGKILL");
        await b.child.status;
        await Promise.all([a.done, b.done]);
        await db.close();
        Deno.removeSync(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "fleet sagas: a zombie host (SIGSTOP … SIGCONT) loses ownership and runs no step",
  ...opts,
  fn: async () => {
    const { url, db, dir } = await setup();
    const ledger = `${dir}/ledger.jsonl`;
    // A's ship takes effect, then sleeps 4 s: A is stopped inside it.
    const a = host([url, "A", ledger, "run:zombie"], { SHIP_MS: "4000" });
    const b = host([url, "B", ledger, "sweep"], { SHIP_MS: "4000" });
    try {
      await until("A's ship effect", () => readLedger(ledger).some((l) => l.key === "zombie:1:do"));
      a.child.kill("SIGSTOP");
      // B's ship sleeps too (same tools): wait for its completion while A is stopped.
      await until("B completes", () => b.lines.includes("DONE zombie completed"), 90_000);
      a.child.kill("SIGCONT");
      const st = await a.child.status;
      await a.done;
      assertEquals(st.code, 3, a.lines.join("\n"));
      assert(a.lines.some((l) => l.startsWith("LOST ")), a.lines.join("\n"));
      assert(!a.lines.includes("CALL zombie:2:do"), "the zombie ran a further step");
      const effects = await checkJournal(db, "zombie", ledger);
      assertEquals(effects, ["zombie:0:do", "zombie:1:do", "zombie:2:do"]);
    } finally {
      try {
        a.child.kill("SIGKILL");
      } catch { /* gone */ }
      b.child.kill("SIGKILL");
      await b.child.status;
      await b.done;
      await db.close();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "fleet sagas: a late append after another host claimed the saga fails on the epoch",
  ...opts,
  fn: async () => {
    const { db, dir } = await setup();
    try {
      const live = { hostId: "A", live: () => true };
      const ja = new PgSagaJournal(db, live, "d");
      const orch = new SagaOrchestrator({
        journal: ja,
        governor: makeGovernor(),
        execute: ledgerExecute(`${dir}/l.jsonl`),
      });
      await orch.run(AGENT, saga(["one"]), { id: "late" });
      await db.q("reopen", (s) => s`UPDATE sagas SET status = 'running' WHERE saga_id = 'late'`);
      await db.q(
        "dead A",
        (s) =>
          s`INSERT INTO hosts (id, did, lease_expires) VALUES ('A', 'did:a', now() - interval '1 s')`,
      );
      const jb = new PgSagaJournal(db, { hostId: "B", live: () => true }, "d");
      assertEquals((await jb.claim()).length > 0, true);
      const rec = { type: "saga.completed", saga: "late", ts: Date.now() } as const;
      let err: unknown;
      try {
        await ja.append(rec);
      } catch (e) {
        err = e;
      }
      assert(err instanceof OwnershipLost, String(err));
      // A fenced host appends nothing either, whoever owns the saga.
      const fenced = new PgSagaJournal(db, { hostId: "B", live: () => false }, "d");
      let err2: unknown;
      try {
        await fenced.append(rec);
      } catch (e) {
        err2 = e;
      }
      assert(err2 instanceof OwnershipLost && /self-fenced/.test(err2.message));
      // A claim needs a matching tools digest.
      await db.q(
        "dead B",
        (s) =>
          s`INSERT INTO hosts (id, did, lease_expires) VALUES ('B', 'did:b', now() - interval '1 s')`,
      );
      assertEquals(await new PgSagaJournal(db, { hostId: "C", live: () => true }, "x").claim(), []);
    } finally {
      await db.close();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
