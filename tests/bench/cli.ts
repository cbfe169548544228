/** `deno task bench`'s arguments (tests/bench/main.ts parses them with this spec first). */
import { type CliSpec, command, UsageError } from "../../runtime/cli/runner.ts";

/** The benchmark groups `--only` selects. */
export const BENCH_GROUPS = ["policy", "cedar", "host", "mcp", "audit", "memory", "fleet"] as const;

/** `--only`'s value, checked: undefined (every group) or one of {@link BENCH_GROUPS}. */
export function onlyGroup(v: string | undefined): string | undefined {
  if (v !== undefined && !(BENCH_GROUPS as readonly string[]).includes(v)) {
    throw new UsageError(`--only: expected one of ${BENCH_GROUPS.join(", ")}, got "${v}"`);
  }
  return v;
}

/** `deno task bench`. */
export const benchSpec: CliSpec = {
  name: "bench",
  command: command({
    args: `[--json] [--markdown] [--quick] [--no-agt] [--only ${BENCH_GROUPS.join("|")}]`,
    help: "  Every hot path with p50/p99/p99.9 and ops/s; --json: one JSON object per case on\n" +
      "  stdout; --markdown: one Markdown table headed by the machine (README's Performance\n" +
      "  table); --no-agt: skip the agent-governance-sdk comparison.",
    options: {
      json: { type: "boolean" },
      markdown: { type: "boolean" },
      quick: { type: "boolean" },
      "no-agt": { type: "boolean" },
      only: { type: "string" },
    },
    // The benchmarks are main.ts's top level: importing it runs them.
    main: async ({ values }) => {
      onlyGroup(values.only as string | undefined);
      await import("./main.ts");
      return 0;
    },
  }),
};
