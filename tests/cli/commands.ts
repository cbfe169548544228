/**
 * Every `deno task` command's CLI spec, by task name, for tests that cover all commands (the
 * all-commands test, README usage checks). A task in deno.json missing here fails those tests.
 */
import type { CliSpec } from "../../runtime/cli/runner.ts";
import { spec as approvals } from "../../runtime/cli/approvals.ts";
import { spec as audit } from "../../runtime/cli/audit.ts";
import { spec as check } from "../../runtime/cli/check.ts";
import { spec as compliance } from "../../runtime/cli/compliance.ts";
import { spec as fleet } from "../../runtime/cli/fleet.ts";
import { spec as host } from "../../runtime/cli/host.ts";
import { spec as init } from "../../runtime/cli/init.ts";
import { spec as mcpGateway } from "../../runtime/cli/mcp_gateway.ts";
import { spec as memory } from "../../runtime/cli/memory.ts";
import { spec as plugin } from "../../runtime/cli/plugin.ts";
import { spec as policy } from "../../runtime/cli/policy.ts";
import { spec as run } from "../../runtime/cli/run.ts";
import { spec as saga } from "../../runtime/cli/saga.ts";
import { spec as sre } from "../../runtime/cli/sre.ts";
import { demoSpec } from "../../runtime/cli/work.ts";
import { spec as rl } from "../../examples/rl/run.ts";
import { spec as trip } from "../../examples/trip/run.ts";
import { benchSpec } from "../bench/cli.ts";

/** The Warden CLIs, by task name. */
export const CLI_SPECS: Record<string, CliSpec> = Object.fromEntries(
  [
    approvals,
    audit,
    benchSpec,
    check,
    compliance,
    demoSpec,
    fleet,
    host,
    init,
    mcpGateway,
    memory,
    plugin,
    policy,
    rl,
    run,
    saga,
    sre,
    trip,
  ].map((s) => [s.name, s]),
);

/** Tasks that are deno's own commands (their help and flags are deno's). */
export const DENO_TASKS = new Set(["test"]);

/** The task names in deno.json. */
export function taskNames(): string[] {
  const cfg = JSON.parse(Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)));
  return Object.keys(cfg.tasks ?? {});
}
