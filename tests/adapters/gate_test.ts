/** The framework-free gate: rendering, fail-closed outside a host, and decisions under a host. */
import { join } from "node:path";
import {
  describeRefusal,
  isWardenError,
  optionsFor,
  toolArgs,
  toolGate,
  WardenToolError,
} from "../../sdk/adapters/gate.ts";
import { WardenError } from "../../sdk/mod.ts";
import { assert, assertEquals } from "../policy/asserts.ts";
import { describe, withRun } from "./helpers.ts";

const NO_HOST = "not running under a Warden host (no SDK channel)";

Deno.test("gate: outside a host authorize fails, the local implementation never runs", async () => {
  for (const mode of ["worker", "host"] as const) {
    let ran = false;
    let error: unknown;
    try {
      await toolGate("delete_file", { mode }).run({ path: "/x" }, () => (ran = true));
    } catch (e) {
      error = e;
    }
    assert(!ran, `${mode}: the local implementation ran`);
    assert(error instanceof WardenToolError, String(error));
    assertEquals(
      [error.message, String(error), error.code, error.tool],
      [
        `Warden could not run tool "delete_file": ${NO_HOST}`,
        `Warden could not run tool "delete_file": ${NO_HOST}`,
        "failed",
        "delete_file",
      ],
    );
  }
});

Deno.test("gate: one model-readable line per refusal kind, the rule named once", () => {
  const line = (
    code: WardenError["code"],
    message: string,
    rule: string | null = null,
    ruleReason: string | null = null,
  ) => describeRefusal("delete_file", { code, message, rule, ruleReason });
  assertEquals(
    line("denied", 'denied by rule "no-delete": files are kept', "no-delete", "files are kept"),
    'Warden denied tool "delete_file" (rule no-delete): files are kept',
  );
  assertEquals(
    line("denied", "no rule matched; the policy default is deny"),
    'Warden denied tool "delete_file": no rule matched; the policy default is deny',
  );
  assertEquals(
    line("denied", 'denied by rule "r"', "r"),
    'Warden denied tool "delete_file" (rule r)',
  );
  assertEquals(
    line(
      "approval_required",
      'approval required (not performed): approval required by rule "ask": a human decides',
      "ask",
      "a human decides",
    ),
    'Warden held tool "delete_file" for human approval (rule ask); it did not run: a human decides',
  );
  assertEquals(
    line("invalid", "path: required"),
    'Warden rejected the arguments of tool "delete_file": path: required',
  );
  assertEquals(
    line("busy", "circuit open"),
    'Warden: tool "delete_file" is temporarily unavailable: circuit open',
  );
  assertEquals(line("timeout", "30 s"), 'Warden: tool "delete_file" timed out: 30 s');
  assertEquals(
    line("killed", "kill switch"),
    'Warden stopped this agent; tool "delete_file" did not run: kill switch',
  );
});

Deno.test("gate: the line takes the rule's reason from its field, never from the sentence", () => {
  const line = (message: string, rule: string | null, ruleReason: string | null) =>
    describeRefusal("t", { code: "denied", message, rule, ruleReason });
  // A sentence that looks like another rule's words changes nothing: only the field is read.
  assertEquals(
    line('denied by rule "other": forged', "no-drops", "tables are never dropped"),
    'Warden denied tool "t" (rule no-drops): tables are never dropped',
  );
  // A Cedar policy's @reason reads like a YAML rule's (the sentence is worded differently).
  assertEquals(
    line('denied by Cedar policy "no-secrets"', "no-secrets", "secrets stay put"),
    'Warden denied tool "t" (rule no-secrets): secrets stay put',
  );
  // A fail-closed decision of a rule: the rule's own reason, not the engine's note.
  assertEquals(
    line('denied by rule "r": x (fail closed: args.a is not a string)', "r", "x"),
    'Warden denied tool "t" (rule r): x',
  );
  // No rule: the refusal's own words (a ring ceiling's sentence is its ruleReason).
  assertEquals(
    line('ring ceiling: ring 3 does not allow run "sh"', null, null),
    'Warden denied tool "t": ring ceiling: ring 3 does not allow run "sh"',
  );
  const e = new WardenToolError("t", {
    code: "denied",
    message: "m",
    rule: "r",
    ruleReason: "because",
  });
  assertEquals([e.rule, e.ruleReason, e.reason], ["r", "because", "m"]);
});

Deno.test("gate: WardenErrors are recognised by shape (a bundle has its own SDK copy)", () => {
  const copy = Object.assign(new Error("nope"), { name: "WardenError", code: "denied", rule: "r" });
  assert(isWardenError(new WardenError("denied", "x", "r")) && isWardenError(copy));
  assert(!isWardenError(new Error("x")) && !isWardenError({ name: "WardenError", code: "denied" }));
  assert(!isWardenError(Object.assign(new Error("x"), { name: "WardenError", code: "weird" })));
  assertEquals([toolArgs({ a: 1 }), toolArgs("sda"), toolArgs([1]), toolArgs(undefined)], [
    { a: 1 },
    { input: "sda" },
    { input: [1] },
    {},
  ]);
  assertEquals(optionsFor("search", { mode: "worker", tools: { search: { mode: "host" } } }), {
    mode: "host",
    name: undefined,
  });
  assertEquals(optionsFor("constructor", { mode: "host", tools: {} }), {
    mode: "host",
    name: undefined,
  });
});

Deno.test("gate under a host: allowed runs here, refused never runs, host mode runs the host's tool", async () => {
  const here = new URL("./agents/", import.meta.url).pathname;
  await withRun(
    { module: join(here, "gate_agent.ts"), policy: join(here, "gate_policy.yaml"), bundle: false },
    (run) => {
      const why = describe(run);
      assertEquals(run.exit.code, 0, why);
      const { results, ran } = run.outputs[0] as {
        results: Record<string, unknown>;
        ran: string[];
      };
      assertEquals(ran, ["allowed", "own-error"], why);
      assertEquals(results, {
        "allowed": { ok: "found 7" },
        // The tool's own error passes through unchanged.
        "own-error": { threw: "RangeError: no such id 8" },
        "args-decide": {
          refused: 'Warden denied tool "lookup": no rule matched; the policy default is deny',
          code: "denied",
          rule: null,
        },
        "denied": {
          refused: 'Warden denied tool "drop_table" (rule no-drops): tables are never dropped',
          code: "denied",
          rule: "no-drops",
        },
        "approval": {
          refused: 'Warden held tool "deploy" for human approval (rule prod-needs-human); ' +
            "it did not run: production deploys need a human",
          code: "approval_required",
          rule: "prod-needs-human",
        },
        "renamed": {
          refused: 'Warden denied tool "drop_table" (rule no-drops): tables are never dropped',
          code: "denied",
          rule: "no-drops",
        },
        "host": { ok: "ok" },
        "host-invalid": {
          refused: (results["host-invalid"] as { refused: string }).refused,
          code: "invalid",
          rule: null,
        },
        "unlisted": {
          refused: 'Warden denied tool "format_disk": no rule matched; the policy default is deny',
          code: "denied",
          rule: null,
        },
      }, why);
      const invalid = (results["host-invalid"] as { refused: string }).refused;
      assert(invalid.startsWith('Warden rejected the arguments of tool "noop": '), invalid);
      const calls = run.audit.filter((e) => e.action === "tool.call")
        .map((e) => [e.resource, e.effect, e.rule]);
      assertEquals(calls, [
        ["lookup", "allow", "lookups"],
        ["lookup", "allow", "lookups"],
        ["lookup", "deny", null],
        ["drop_table", "deny", "no-drops"],
        ["deploy", "require_approval", "prod-needs-human"],
        ["drop_table", "deny", "no-drops"],
        ["noop", "allow", "noop"],
        ["noop", "deny", null],
        ["format_disk", "deny", null],
      ], why);
      // Worker-mode decisions say so in the log; host-mode calls (noop) do not.
      const worker = run.audit.filter((e) => e.action === "tool.call" && e.execution === "worker")
        .map((e) => e.resource);
      assertEquals(worker.includes("noop"), false, why);
      assertEquals(worker.filter((r) => r === "lookup").length, 3, why);
      const first = run.audit.find((e) => e.action === "tool.call" && e.resource === "lookup");
      assertEquals(typeof first?.argsSha256, "string", "decided arguments are digested");
    },
  );
});
