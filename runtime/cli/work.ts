/**
 * The specs of commands whose module's top level is the work (`deno task demo`): declared
 * here, apart from the work, so the all-commands test can read them without running it.
 */
import { type CliSpec, command } from "./runner.ts";

/** `deno task demo` (runtime/cli/demo.ts parses its arguments with it). */
export const demoSpec: CliSpec = {
  name: "demo",
  command: command({
    help: "  Runs a benign and a hostile agent side by side, the kill switch on a busy loop and\n" +
      "  an MCP server behind the gateway, then checks its own summary against the audit log.",
    // The demo is its module's top level: importing it runs it (and it exits with its verdict).
    main: async () => {
      await import("./demo.ts");
      return 0;
    },
  }),
};
