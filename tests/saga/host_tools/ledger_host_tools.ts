/**
 * `--host-tools` module for the host-tools crash test: AI SDK-shaped tools over the JSONL
 * ledger of ../ledger_tools.ts, keyed by the `toolCallId` the host gives them (the saga's
 * idempotency key). `ship` hangs after its effect while LEDGER_HANG_SHIP=1 (so the test can
 * kill the host mid-step); `saga_done` says whether the saga journal records a completion.
 * Trusted host-side code: it reads LEDGER_PATH and WARDEN_HOME from the host's environment.
 */
import { z } from "zod";
import { journalPath } from "../../../runtime/saga/journal.ts";
import { wardenHome } from "../../../runtime/state.ts";
import { recordCall } from "../ledger_tools.ts";

const ledger = Deno.env.get("LEDGER_PATH")!;
const hangShip = Deno.env.get("LEDGER_HANG_SHIP") === "1";

function effectTool(name: string) {
  return {
    description: `${name} (idempotent by toolCallId)`,
    inputSchema: z.object({}),
    execute: async (
      _input: unknown,
      options: { toolCallId: string; abortSignal?: AbortSignal },
    ) => {
      recordCall(ledger, name, options.toolCallId);
      if (name === "ship" && hangShip) {
        await new Promise((_, reject) =>
          options.abortSignal?.addEventListener("abort", () => reject(options.abortSignal?.reason))
        );
      }
      return { key: options.toolCallId };
    },
  };
}

export const tools = {
  reserve: effectTool("reserve"),
  ship: effectTool("ship"),
  notify: effectTool("notify"),
  cancel: effectTool("cancel"),
  saga_done: {
    description: "whether the saga journal records a completed saga",
    inputSchema: z.object({}),
    execute: () => {
      try {
        return Deno.readTextFileSync(journalPath(wardenHome())).includes('"saga.completed"');
      } catch {
        return false;
      }
    },
  },
};
