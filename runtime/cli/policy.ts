/**
 * `deno task policy check <file|dir>...`
 * `deno task policy eval <policy>... <request.json|->`
 * `deno task policy explain <policy> <request.json|->`
 * `deno task policy publish <dir> --channel NAME [--key NAME] [--keystore DIR] [--canary-share X]
 *   [--rings FILE] [--slos FILE] [--keyring FILE] [--revoked FILE]
 *   [--fleet URL] [--fleet-wakeup notify|poll]` (fleet mode: compile every part, sign, store,
 *   move the channel)
 * `deno task policy freeze --channel NAME [--off] [--fleet URL]`
 */
import { ActionRequest, explain, type ExplainNode } from "../../governance/mod.ts";
import { loadPolicy } from "../policy/loader.ts";
import {
  CliError,
  type CliSpec,
  command,
  FileError,
  fsProblem,
  jsonProblem,
  readJson,
  readText,
  runCli,
  UsageError,
} from "./runner.ts";
import { join } from "node:path";
import { Keystore } from "../identity/keystore.ts";
import { wardenHome } from "../state.ts";
import { connectFleetDb, type FleetDb, FleetDbError, fleetUrl, migrate } from "../fleet/mod.ts";
import { bundleFiles, type BundleParts, freezeChannel, publishBundle } from "../fleet/bundles.ts";
import { compileRings } from "../../governance/rings/mod.ts";
import { compileSlos } from "../../governance/sre/mod.ts";
import { Keyring, Revocations } from "../../governance/plugins/mod.ts";
import { basename } from "node:path";

const NOTE = "(a policy is a .yaml/.yml/.cedar file or a directory of them)";

async function readRequest(arg: string): Promise<ActionRequest> {
  let text: string;
  try {
    text = arg === "-"
      ? await new Response(Deno.stdin.readable).text()
      : await Deno.readTextFile(arg);
  } catch (e) {
    throw new FileError(arg, `cannot read request: ${fsProblem(e)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    const p = jsonProblem(text, e);
    throw new FileError(arg, `request is not valid JSON: ${p.problem}`, p.where);
  }
  const r = ActionRequest.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0];
    const where = first.path.length ? first.path.join(".") : "request";
    throw new FileError(arg, `invalid ActionRequest: ${where}: ${first.message}`);
  }
  return r.data;
}

function renderNode(n: ExplainNode, indent: string, out: string[]): void {
  const mark = n.result === "true" ? "✓" : n.result === "false" ? "✗" : "?";
  out.push(`${indent}${mark} ${n.text}${n.why ? `  (${n.why})` : ""}`);
  for (const c of n.children ?? []) renderNode(c, indent + "  ", out);
}

function check({ positionals }: { positionals: string[] }): number {
  const p = loadPolicy(positionals);
  const cedar = p.cedar.reduce((n, c) => n + c.ids.length, 0);
  console.log(
    `ok: ${p.rules.length} rules${
      cedar ? ` and ${cedar} Cedar policies` : ""
    } in ${p.sources.length} file(s); default ${p.defaultEffect}`,
  );
  return 0;
}

async function evaluate({ positionals: pos }: { positionals: string[] }): Promise<number> {
  const policy = loadPolicy(pos.slice(0, -1));
  const req = await readRequest(pos[pos.length - 1]);
  console.log(JSON.stringify(policy.evaluate(req)));
  return 0;
}

async function explainCmd(
  { values, positionals: pos }: { values: { json?: boolean }; positionals: string[] },
): Promise<number> {
  const policy = loadPolicy(pos.slice(0, -1));
  const req = await readRequest(pos[pos.length - 1]);
  const ex = explain(policy, req);
  if (values.json) {
    console.log(JSON.stringify(ex, null, 2));
    return 0;
  }
  const out = [
    `request: ${ex.request.action} ${ex.request.resource ?? "(resource could not be normalized)"}`,
    `decision: ${ex.decision.effect}${
      ex.decision.rule ? ` by ${ex.decision.rule}` : ""
    } — ${ex.decision.reason}`,
    `rules for ${ex.request.action}: ${ex.rules.length}`,
  ];
  for (const r of ex.rules) {
    out.push(`  ${r.matched ? "MATCH" : "no   "} ${r.effect.padEnd(16)} ${r.id}  (${r.location})`);
    if (r.resource) renderNode(r.resource, "      ", out);
    if (r.condition) renderNode(r.condition, "      ", out);
  }
  console.log(out.join("\n"));
  return 0;
}

const CHANNEL = /^[a-z0-9][a-z0-9._-]{0,63}$/;
type FleetFlags = { channel?: string; fleet?: string; "fleet-wakeup"?: string };

/** The fleet database for publish/freeze (migrated), and the checked channel and wake-up. */
async function fleetOf(o: FleetFlags): Promise<{ db: FleetDb; channel: string; poll: boolean }> {
  if (o.channel === undefined) throw new UsageError("--channel NAME is required");
  if (!CHANNEL.test(o.channel)) {
    throw new UsageError(`--channel: expected [a-z0-9._-] (1-64), got "${o.channel}"`);
  }
  const w = o["fleet-wakeup"];
  if (w !== undefined && w !== "notify" && w !== "poll") {
    throw new UsageError(`--fleet-wakeup: expected notify or poll, got "${w}"`);
  }
  const url = fleetUrl(o.fleet);
  if (url === undefined) throw new UsageError("--fleet URL (or WARDEN_FLEET_URL) is required");
  try {
    const db = connectFleetDb(url);
    await migrate(db).catch(async (e) => {
      await db.close();
      throw e;
    });
    return { db, channel: o.channel, poll: w === "poll" };
  } catch (e) {
    if (e instanceof FleetDbError) throw new CliError(e.message);
    throw e;
  }
}

type PartFlags = { rings?: string; slos?: string; keyring?: string; revoked?: string };

/** The bundle parts named by flags, each compiled or checked first (file:line:col, exit 1). */
function bundleParts(o: PartFlags): BundleParts {
  const text = (path: string, flag: string) => ({
    path: basename(path),
    text: readText(path, flag),
  });
  const parts: BundleParts = {};
  if (o.rings !== undefined) {
    parts.rings = text(o.rings, "--rings");
    compileRings(parts.rings.text, o.rings);
  }
  if (o.slos !== undefined) {
    parts.slos = text(o.slos, "--slos");
    compileSlos(parts.slos.text, o.slos);
  }
  if (o.keyring !== undefined) parts.keyring = readJson(o.keyring, Keyring, "--keyring");
  if (o.revoked !== undefined) parts.revoked = readJson(o.revoked, Revocations, "--revoked");
  return parts;
}

async function publish(
  { values: o, positionals }: {
    values: FleetFlags & PartFlags & { key?: string; keystore?: string; "canary-share"?: string };
    positionals: string[];
  },
): Promise<number> {
  let share: number | undefined;
  if (o["canary-share"] !== undefined) {
    share = Number(o["canary-share"]);
    if (!/^(0(\.\d+)?|1(\.0+)?)$/.test(o["canary-share"]) || !(share > 0 && share <= 1)) {
      throw new UsageError(
        `--canary-share: expected a share in (0, 1], got "${o["canary-share"]}"`,
      );
    }
  }
  const files = bundleFiles(positionals[0]); // compiles first: file:line:col, exit 1
  const parts = bundleParts(o);
  const keys = new Keystore(
    o.keystore ?? join(wardenHome(), "keys"),
    Deno.env.get("WARDEN_KEY_PASSPHRASE"),
  );
  const keyName = o.key ?? "publisher";
  if (!keys.has(keyName)) {
    throw new CliError(
      `--key ${keyName}: no such key in ${keys.dir} (create it with \`deno task plugin keygen ${keyName}\`)`,
    );
  }
  const signer = await keys.signer(keyName);
  const { db, channel, poll } = await fleetOf(o);
  try {
    const p = await publishBundle(
      db,
      poll ? "poll" : "notify",
      signer,
      channel,
      files,
      share,
      parts,
    );
    const extra = Object.keys(parts).filter((k) => parts[k as keyof BundleParts] !== undefined);
    console.log(
      `published v${p.version} to ${channel}${p.canary ? ` as canary (share ${share})` : ""}: ` +
        `${files.length} file(s)${extra.length ? ` + ${extra.join(", ")}` : ""}, ` +
        `digest ${p.digest.slice(0, 16)}…, publisher ${signer.did}`,
    );
    return 0;
  } catch (e) {
    throw new CliError((e as Error).message.split("\n")[0]);
  } finally {
    await db.close();
  }
}

async function freeze({ values: o }: { values: FleetFlags & { off?: boolean } }): Promise<number> {
  const { db, channel } = await fleetOf(o);
  try {
    if (!(await freezeChannel(db, channel, !o.off))) {
      throw new CliError(`no channel ${channel} (publish to it first)`);
    }
    console.log(`channel ${channel} ${o.off ? "unfrozen" : "frozen"}`);
    return 0;
  } catch (e) {
    if (e instanceof FleetDbError) throw new CliError(e.message);
    throw e;
  } finally {
    await db.close();
  }
}

const FLEET_OPTIONS = {
  channel: { type: "string" },
  fleet: { type: "string" },
  "fleet-wakeup": { type: "string" },
} as const;

const MANY = 1_000_000;
const request = { args: (p: string) => ["policies/agents.yaml", p] };

/** `deno task policy`. */
export const spec: CliSpec = {
  name: "policy",
  notes: NOTE,
  subcommands: {
    check: command({
      args: "<file|dir>...",
      positionals: [1, MANY],
      files: [{ args: (p) => [p], ext: ".yaml" }],
      main: check,
    }),
    eval: command({
      args: "<policy>... <request.json|->",
      positionals: [2, MANY],
      files: [{ args: (p) => [p, p], ext: ".yaml" }, request],
      main: evaluate,
    }),
    explain: command({
      args: "<policy>... <request.json|-> [--json]",
      options: { json: { type: "boolean" } },
      positionals: [2, MANY],
      files: [{ args: (p) => [p, p], ext: ".yaml" }, request],
      main: explainCmd,
    }),
    publish: command({
      args: "<dir> --channel NAME [--key NAME] [--keystore DIR]\n" +
        "         [--canary-share X] [--rings FILE] [--slos FILE] [--keyring FILE] [--revoked FILE]\n" +
        "         [--fleet URL] [--fleet-wakeup notify|poll]",
      help: "compile, sign with the keystore key NAME (default publisher; create it with " +
        "`deno task plugin keygen NAME`), store a new version and move the channel (or its canary)\n" +
        "  the bundle is the policy files of <dir> plus, when given, these parts (hosts apply them\n" +
        "  with the policy in one swap; a part not given is the host's own):\n" +
        "  --rings FILE    ring ceilings and budgets (a kind: Rings document)\n" +
        "  --slos FILE     SLOs, alerts and actions (a kind: SLOs document)\n" +
        "  --keyring FILE  trusted plugin publishers (plugins/keyring.json format)\n" +
        "  --revoked FILE  revoked plugin keys and releases (plugins/revoked.json format)",
      options: {
        ...FLEET_OPTIONS,
        rings: { type: "string" },
        slos: { type: "string" },
        keyring: { type: "string" },
        revoked: { type: "string" },
        key: { type: "string" },
        keystore: { type: "string" },
        "canary-share": { type: "string" },
      },
      positionals: [1, 1],
      // Each part is read and checked before the database is reached.
      files: [
        { args: (p) => ["policies", "--channel", "c", "--rings", p], ext: ".yaml" },
        { args: (p) => ["policies", "--channel", "c", "--slos", p], ext: ".yaml" },
        { args: (p) => ["policies", "--channel", "c", "--keyring", p] },
        { args: (p) => ["policies", "--channel", "c", "--revoked", p] },
      ],
      main: publish,
    }),
    freeze: command({
      args: "--channel NAME [--off] [--fleet URL]",
      help: "freeze a channel (publishing refused) or, with --off, unfreeze it",
      options: { ...FLEET_OPTIONS, off: { type: "boolean" } },
      main: freeze,
    }),
  },
};

if (import.meta.main) await runCli(spec);
