/**
 * `deno task sre status [--state DIR] [--json]`: the SLOs, error budgets, burn-rate alerts,
 * circuit breakers and chaos counts of the last host that ran with that state directory (the
 * host writes `<state>/sre-status.json` after every evaluation).
 */
import { z } from "zod";
import { CliError, type CliSpec, command, readJson, runCli } from "./runner.ts";
import { join } from "node:path";
import { wardenHome } from "../state.ts";

/** The part of `<state>/sre-status.json` this CLI shows (the host writes more). */
const Status = z.looseObject({
  at: z.string(),
  slos: z.array(z.looseObject({
    slo: z.string(),
    breached: z.boolean(),
    budget: z.looseObject({ target: z.number(), consumed: z.number(), remaining: z.number() }),
    alerts: z.array(z.looseObject({
      severity: z.string(),
      firing: z.boolean(),
      longBurn: z.number(),
      shortBurn: z.number(),
      threshold: z.number(),
    })),
  })),
  breakers: z.array(z.looseObject({
    name: z.string(),
    state: z.string(),
    failureRate: z.number(),
    slowCallRate: z.number(),
    calls: z.number(),
  })),
  chaos: z.looseObject({ resilience: z.looseObject({ score: z.number() }).optional() }).nullable(),
});

function status({ values: o }: { values: { state?: string; json?: boolean } }): number {
  const path = join(o.state ?? wardenHome(), "sre-status.json");
  try {
    Deno.statSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new CliError(`${path}: no status yet (run a host with --slo)`);
    }
  }
  const s = readJson(path, Status);
  if (o.json) {
    console.log(JSON.stringify(s, null, 2));
    return 0;
  }
  console.log(`as of ${s.at}`);
  console.log("SLOs:");
  for (const x of s.slos) {
    const firing = x.alerts.filter((a) => a.firing).map((a) => `${a.severity} ${a.threshold}x`);
    console.log(
      `  ${x.breached ? "BREACHED" : "ok      "} ${x.slo.padEnd(24)} target ${
        (100 * x.budget.target).toFixed(2)
      }%  budget left ${(100 * x.budget.remaining).toFixed(1)}%${
        firing.length ? `  alerts: ${firing.join(", ")}` : ""
      }`,
    );
  }
  console.log("Circuit breakers:");
  for (const b of s.breakers) {
    console.log(
      `  ${b.state.padEnd(9)} ${b.name.padEnd(40)} failures ${b.failureRate.toFixed(0)}%  slow ${
        b.slowCallRate.toFixed(0)
      }%  calls ${b.calls}`,
    );
  }
  if (s.chaos?.resilience) console.log(`Chaos resilience score: ${s.chaos.resilience.score}`);
  return 0;
}

/** `deno task sre`. */
export const spec: CliSpec = {
  name: "sre",
  subcommands: {
    status: command({
      args: "[--state DIR] [--json]",
      options: { state: { type: "string" }, json: { type: "boolean" } },
      files: [{ args: (p) => ["--state", p], inDir: "sre-status.json" }],
      main: status,
    }),
  },
};

if (import.meta.main) await runCli(spec);
