/**
 * `deno task sre status [--state DIR] [--json]`: the SLOs, error budgets, burn-rate alerts,
 * circuit breakers and chaos counts of the last host that ran with that state directory (the
 * host writes `<state>/sre-status.json` after every evaluation).
 */
import { parseCli } from "./args.ts";
import { join } from "node:path";
import { wardenHome } from "../state.ts";

const USAGE = "usage: deno task sre status [--state DIR] [--json]";

interface Status {
  at: string;
  slos: {
    slo: string;
    breached: boolean;
    budget: { target: number; consumed: number; remaining: number };
    alerts: {
      severity: string;
      firing: boolean;
      longBurn: number;
      shortBurn: number;
      threshold: number;
    }[];
  }[];
  breakers: {
    name: string;
    state: string;
    failureRate: number;
    slowCallRate: number;
    calls: number;
  }[];
  chaos: { resilience?: { score: number } } | null;
}

function main(): number {
  const parsed = parseCli({ state: { type: "string" }, json: { type: "boolean" } }, USAGE);
  if (!parsed) return 2;
  const { values: o, positionals } = parsed;
  if (positionals.length !== 1 || positionals[0] !== "status") {
    console.error(USAGE);
    return 2;
  }
  const path = join(o.state ?? wardenHome(), "sre-status.json");
  let s: Status;
  try {
    s = JSON.parse(Deno.readTextFileSync(path));
  } catch (e) {
    console.error(
      `${path}: ${
        e instanceof Deno.errors.NotFound
          ? "no status yet (run a host with --slo)"
          : (e as Error).message
      }`,
    );
    return 1;
  }
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

Deno.exit(main());
