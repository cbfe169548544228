/**
 * Signed, versioned policy bundles (FLEET.md §6.1). A bundle is the canonical JSON of
 * `{format, channel, version, files}` (the policy files of a directory, as text) and, in format
 * 2, the optional parts `rings` (a `kind: Rings` document: ceilings and budgets), `slos` (a
 * `kind: SLOs` document), `keyring` and `revoked` (the plugin trust store); its digest is
 * the sha-256 of those bytes and the publisher's Ed25519 signature covers the digest, so the
 * version and the channel are signed too (no replay of an old bundle as a new version, no move
 * to another channel). `publishBundle` compiles first, then in one transaction takes the next
 * version from the `policy` stream head, stores the bundle, moves the channel and NOTIFYs.
 *
 * The host part follows one channel: on notify, every `policyPollMs` and after a reconnect it
 * reads the channel; when the version for this host (the canary's when `hash(host id) <
 * canary_share`) is newer than the active one it fetches, verifies digest, signature (a
 * publisher did from the boot config) and channel, compiles every part, swaps them in one
 * synchronous step (policy through the host's delivery, rings, SLOs, the plugin keyring and
 * revocations; any part that does not compile and nothing changes), persists it
 * under `$WARDEN_HOME/fleet/bundle.json` and reports `{channel, active, error}` in
 * `hosts.status.policy`. At boot the persisted bundle is verified and used; with none the host
 * starts no agents until a bundle is active.
 */
import { createHash } from "node:crypto";
import { dirname, join, relative, resolve } from "node:path";
import { z } from "zod";
import { canonicalJson } from "../../governance/audit/mod.ts";
import {
  type CompiledPolicy,
  compilePolicySet,
  formatProblem,
  PolicyError,
  type PolicySource,
} from "../../governance/mod.ts";
import { b64url, type Signer, unb64url, verifyDid } from "../../governance/identity/mod.ts";
import { attachOutputRules, compileOutputRules } from "../../governance/outputs/mod.ts";
import { compileRings, type RingCeilings } from "../../governance/rings/mod.ts";
import { compileSlos, type SloDocument } from "../../governance/sre/mod.ts";
import { Keyring, Revocations } from "../../governance/plugins/mod.ts";
import { HOST_AGENT } from "../governor.ts";
import { PluginStore } from "../plugins/store.ts";
import { realPath } from "../broker/map.ts";
import { cedarEngine } from "../policy/cedar_engine.ts";
import { BUILTIN_POLICY, loadPolicy } from "../policy/loader.ts";
import type { FleetDb, Wakeup } from "./db.ts";
import type { FleetContext, FleetPart, FleetPartFactory } from "./mod.ts";

/** The wake-up channel of policy channel moves (payload: the channel name). */
export const POLICY_CHANNEL = "warden_policy";

/** The largest bundle (bytes of its canonical JSON) a publisher stores and a host fetches. */
export const MAX_BUNDLE_BYTES = 8 * 1024 * 1024;

/** One text file of a bundle. */
const BundleFile = z.strictObject({ path: z.string().min(1).max(512), text: z.string() });

/** The optional parts of a format-2 bundle (absent: the host's own, from its boot config). */
const PARTS = ["rings", "slos", "keyring", "revoked"] as const;

/**
 * A bundle's content (what the digest and the signature cover). Format 1 carries policy files
 * only (still verified and loaded); format 2 may add rings, SLOs, the plugin keyring and the
 * revoked list. Unknown fields are refused (a host never ignores what it was asked to apply).
 */
export const BundleContent = z.strictObject({
  format: z.union([z.literal(1), z.literal(2)]),
  channel: z.string().min(1).max(64),
  version: z.number().int().positive(),
  files: z.array(BundleFile).min(1).max(10_000),
  /** A `kind: Rings` document: ring ceilings and budgets. */
  rings: BundleFile.optional(),
  /** A `kind: SLOs` document: SLOs, alerts and their actions. */
  slos: BundleFile.optional(),
  /** The plugin publishers trusted for plugin loads (`plugins/keyring.json`). */
  keyring: Keyring.optional(),
  /** Revoked plugin publisher keys and releases (`plugins/revoked.json`). */
  revoked: Revocations.optional(),
}).refine((c) => c.format === 2 || PARTS.every((p) => c[p] === undefined), {
  error: "a format 1 bundle carries policy files only",
});
export type BundleContent = z.infer<typeof BundleContent>;

/** A stored bundle: its bytes, digest, signature and publisher. */
export const StoredBundle = z.strictObject({
  version: z.number().int().positive(),
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  sig: z.string(),
  publisher: z.string(),
  text: z.string(),
});
export type StoredBundle = z.infer<typeof StoredBundle>;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const enc = new TextEncoder();
const signed = (digest: string) => enc.encode(`warden-policy-bundle:${digest}`);

/** What a bundle sets on a host besides its policy files. */
export interface BundleParts {
  rings?: { path: string; text: string };
  slos?: { path: string; text: string };
  keyring?: Keyring;
  revoked?: Revocations;
}

/** A bundle compiled: every part ready to swap in (undefined: the host's own). */
export interface CompiledBundle {
  policy: CompiledPolicy;
  rings?: RingCeilings;
  slos?: SloDocument;
  keyring?: Keyring;
  revoked?: Revocations;
}

/** Digest and publisher signature of a bundle's canonical text. */
export async function signBundle(
  signer: Signer,
  text: string,
): Promise<{ digest: string; sig: string }> {
  const digest = sha256(text);
  return { digest, sig: b64url(await signer.sign(signed(digest))) };
}

/** Compile every part of a bundle; throws PolicyError naming the part's file and position. */
export function compileBundleParts(content: BundleContent): CompiledBundle {
  const label = (p: string) => `bundle v${content.version}:${p}`;
  return {
    policy: compileBundle(content),
    rings: content.rings && compileRings(content.rings.text, label(content.rings.path)),
    slos: content.slos && compileSlos(content.slos.text, label(content.slos.path)),
    keyring: content.keyring,
    revoked: content.revoked,
  };
}

/** The parts a bundle carries (for status lines). */
export function partsOf(content: BundleContent): string[] {
  return ["files", ...PARTS.filter((p) => content[p] !== undefined)];
}

/** Compile a bundle's files (with the host's built-in rules); throws PolicyError. */
export function compileBundle(content: BundleContent): CompiledPolicy {
  const byPath = new Map(content.files.map((f) => [f.path, f.text]));
  const label = (p: string) => `bundle v${content.version}:${p}`;
  const source = (p: string): PolicySource => {
    const text = byPath.get(p);
    if (text === undefined) {
      throw new PolicyError([{ path: label(p), line: 1, column: 1, message: "not in the bundle" }]);
    }
    return { text, path: label(p), format: p.endsWith(".cedar") ? "cedar" : "yaml" };
  };
  const builtin: PolicySource = {
    text: Deno.readTextFileSync(BUILTIN_POLICY),
    path: BUILTIN_POLICY,
    format: "yaml",
  };
  // As a directory loads: its top-level files; the others are reached by `include:`.
  const tops = content.files.map((f) => f.path).filter((p) => !p.includes("/"));
  const sources = [builtin, ...tops.map(source)];
  const resolveInclude = (inc: string, from: string) => {
    const rel = from.startsWith("bundle v") ? from.slice(from.indexOf(":") + 1) : ".";
    return source(join(dirname(rel), inc));
  };
  const policy = compilePolicySet(sources, { resolvePath: realPath, cedarEngine, resolveInclude });
  return attachOutputRules(policy, compileOutputRules(sources, resolveInclude));
}

/** Verify a stored bundle: digest, signature by a trusted publisher, channel. Content or a reason. */
export async function verifyBundle(
  b: StoredBundle,
  publishers: readonly string[],
  channel: string,
): Promise<BundleContent | string> {
  const size = enc.encode(b.text).length;
  if (size > MAX_BUNDLE_BYTES) {
    return `bundle v${b.version}: ${size} bytes, over the ${MAX_BUNDLE_BYTES}-byte limit`;
  }
  if (sha256(b.text) !== b.digest) return `bundle v${b.version}: digest mismatch`;
  if (!publishers.includes(b.publisher)) {
    return `bundle v${b.version}: publisher ${b.publisher} is not trusted by this host`;
  }
  let sig: Uint8Array;
  try {
    sig = unb64url(b.sig);
  } catch {
    return `bundle v${b.version}: signature is not base64url`;
  }
  if (!(await verifyDid(b.publisher, signed(b.digest), sig))) {
    return `bundle v${b.version}: bad signature`;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(b.text);
  } catch {
    return `bundle v${b.version}: malformed content: not JSON`;
  }
  const parsed = BundleContent.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return `bundle v${b.version}: malformed content: ${i.path.join(".") || "bundle"}: ${i.message}`;
  }
  const content = parsed.data;
  if (content.version !== b.version) {
    return `bundle v${b.version}: signed as version ${content.version}`;
  }
  if (content.channel !== channel) {
    return `bundle v${b.version}: signed for channel ${content.channel}, not ${channel}`;
  }
  return content;
}

/** The policy files of `dir` (and every file they include, which must be inside `dir`). */
export function bundleFiles(dir: string): { path: string; text: string }[] {
  const policy = loadPolicy(dir, { builtin: true }); // compiles first: PolicyError with positions
  const root = resolve(dir);
  const files: { path: string; text: string }[] = [];
  for (const src of policy.sources) {
    if (resolve(src) === resolve(BUILTIN_POLICY)) continue;
    const rel = relative(root, resolve(src));
    if (rel.startsWith("..") || rel === "") {
      throw new PolicyError([{ path: src, line: 1, column: 1, message: `outside ${dir}` }]);
    }
    files.push({ path: rel, text: Deno.readTextFileSync(src) });
  }
  return files.sort((a, b) => a.path < b.path ? -1 : 1);
}

/** What {@link publishBundle} did. */
export interface Published {
  version: number;
  digest: string;
  channel: string;
  canary: boolean;
}

/**
 * Publish `files` to `channel`: one transaction takes the next version, stores the signed
 * bundle, moves the channel (or its canary, with `canaryShare`), NOTIFYs. A frozen channel
 * refuses.
 */
export async function publishBundle(
  db: FleetDb,
  wakeup: Wakeup,
  signer: Signer,
  channel: string,
  files: { path: string; text: string }[],
  canaryShare?: number,
  parts: BundleParts = {},
): Promise<Published> {
  return await db.tx("publish bundle", async (tx) => {
    const [ch] = await tx`SELECT frozen FROM policy_channels WHERE name = ${channel} FOR UPDATE`;
    if (ch?.frozen) throw new Error(`channel ${channel} is frozen: no rollouts until unfrozen`);
    const [h] = await tx`UPDATE stream_heads SET pos = pos + 1 WHERE stream = 'policy'
      RETURNING pos`;
    const version = Number(h.pos);
    const extra = Object.fromEntries(Object.entries(parts).filter(([, v]) => v !== undefined));
    const format = Object.keys(extra).length ? 2 : 1;
    const text = canonicalJson({ format, channel, version, files, ...extra });
    const size = enc.encode(text).length;
    if (size > MAX_BUNDLE_BYTES) {
      throw new Error(`bundle is ${size} bytes, over the ${MAX_BUNDLE_BYTES}-byte limit`);
    }
    const { digest, sig } = await signBundle(signer, text);
    await tx`INSERT INTO policy_bundles (version, digest, bundle, sig, publisher)
      VALUES (${version}, ${digest}, ${enc.encode(text)}, ${sig}, ${signer.did})`;
    const canary = canaryShare !== undefined && canaryShare > 0 && ch !== undefined;
    if (canary) {
      await tx`UPDATE policy_channels SET canary_version = ${version},
        canary_share = ${canaryShare}, updated_at = now() WHERE name = ${channel}`;
    } else {
      await tx`INSERT INTO policy_channels (name, version) VALUES (${channel}, ${version})
        ON CONFLICT (name) DO UPDATE SET version = excluded.version, canary_version = NULL,
          canary_share = 0, updated_at = now()`;
    }
    if (wakeup === "notify") await tx`SELECT pg_notify(${POLICY_CHANNEL}, ${channel})`;
    return { version, digest, channel, canary };
  });
}

/** Freeze (no publish) or unfreeze a channel. False when the channel does not exist. */
export async function freezeChannel(db: FleetDb, channel: string, frozen: boolean) {
  const r = await db.q(
    "freeze channel",
    (sql) =>
      sql`UPDATE policy_channels SET frozen = ${frozen}, updated_at = now()
      WHERE name = ${channel} RETURNING name`,
  );
  return r.length === 1;
}

/** This host's stable place in [0, 1) for canary shares. */
export function canaryPoint(hostId: string): number {
  return parseInt(sha256(hostId).slice(0, 8), 16) / 0x1_0000_0000;
}

/** What the host had before any bundle part replaced it (restored when a part is absent). */
interface BootParts {
  rings: RingCeilings;
  slos: SloDocument | undefined;
}

/** The outcome of {@link BundlesPart.reapply}. */
export interface Reapplied {
  ok: boolean;
  message: string;
}

/**
 * The bundles part: follows `config.channel`. It also turns an SRE `freeze_rollouts` action
 * into the channel's `frozen` flag in the database (no host takes a new version while it is
 * set; `deno task policy freeze --off` lifts it), audited as the host.
 */
export class BundlesPart implements FleetPart {
  readonly name = "bundles";
  active: number | null = null;
  error: string | null = null;
  parts: string[] = [];
  #failed = new Set<number>();
  #unguard: (() => void) | undefined;
  #unact: (() => void) | undefined;
  #boot: BootParts | undefined;
  /** A freeze the database did not take yet (retried at every check). */
  #freezePending: string | null = null;
  readonly path: string;

  constructor(readonly ctx: FleetContext, readonly channel: string) {
    this.path = join(ctx.config.dir, "bundle.json");
  }

  async start(): Promise<void> {
    const { ctx } = this;
    this.#boot = { rings: ctx.host.governor.rings, slos: ctx.host.sre.slos };
    this.#unguard = ctx.host.addGuard((ask) =>
      this.active === null && ask.kind !== "raise"
        ? `fleet policy: no bundle of channel ${this.channel} is active on this host yet ` +
          `(${this.error ?? "none persisted and none fetched"}); starting no agents`
        : undefined
    );
    this.#unact = ctx.host.sre.onAction((slo, action) => {
      if (action.type !== "freeze_rollouts") return;
      this.#freezePending = `SLO ${slo.slo} breached on host ${ctx.hostId}`;
      this.#freeze().catch(() => {});
    });
    await this.#bootPersisted();
    await this.check().catch(() => {}); // the database may be down: the persisted one stays
    if (this.active === null) ctx.log(this.#guardLine());
    ctx.watch(POLICY_CHANNEL, ctx.config.policyPollMs, async () => {
      await this.check();
    });
  }

  #guardLine(): string {
    return `policy channel ${this.channel}: no bundle active (${this.error ?? "none yet"}); ` +
      "starting no agents until one is";
  }

  #audit(action: string, effect: "allow" | "deny", reason: string): void {
    this.ctx.host.governor.record(HOST_AGENT, {
      path: "host",
      action,
      resource: `channel:${this.channel}`,
    }, { effect, rule: null, reason });
  }

  /** Set the channel's frozen flag for a pending SRE freeze; audited either way. */
  async #freeze(): Promise<void> {
    const why = this.#freezePending;
    if (why === null) return;
    try {
      const found = await freezeChannel(this.ctx.db, this.channel, true);
      this.#freezePending = null;
      this.#audit(
        "policy.channel.freeze",
        "deny",
        found
          ? `rollouts frozen fleet-wide (channel ${this.channel}): ${why}`
          : `no channel ${this.channel} to freeze: ${why}`,
      );
    } catch (e) {
      this.#audit(
        "policy.channel.freeze",
        "deny",
        `freeze of channel ${this.channel} pending (${(e as Error).message}): ${why}`,
      );
      throw e;
    }
  }

  async #bootPersisted(): Promise<void> {
    let stored: StoredBundle;
    try {
      stored = StoredBundle.parse(JSON.parse(Deno.readTextFileSync(this.path)));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) this.error = `persisted bundle unreadable`;
      return;
    }
    await this.#activate(stored, false);
  }

  /**
   * Read the channel; fetch, verify, compile and swap in a newer version for this host. With
   * `force`, the channel's version is fetched and applied again even when it is the active
   * one (a reload in fleet mode). Returns the version looked at (undefined: no channel yet).
   */
  async check(force = false): Promise<number | undefined> {
    const { ctx } = this;
    if (this.#freezePending !== null) await this.#freeze().catch(() => {});
    const [ch] = await ctx.db.q(
      "policy channel",
      (sql) =>
        sql`SELECT version, canary_version, canary_share FROM policy_channels
        WHERE name = ${this.channel}`,
    );
    if (!ch) return undefined;
    const canary = ch.canary_version !== null && canaryPoint(ctx.hostId) < ch.canary_share;
    const target = Number(canary ? ch.canary_version : ch.version);
    if (!force && ((this.active !== null && target <= this.active) || this.#failed.has(target))) {
      return target;
    }
    // The size first: an oversized bundle is refused without being read.
    const [row] = await ctx.db.q(
      "policy bundle",
      (sql) =>
        sql`SELECT version, digest, sig, publisher, octet_length(bundle) AS size,
          CASE WHEN octet_length(bundle) <= ${MAX_BUNDLE_BYTES} THEN bundle END AS bundle
        FROM policy_bundles WHERE version = ${target}`,
    );
    if (!row) return target;
    if (row.bundle === null) {
      this.#refused(
        target,
        `bundle v${target}: ${row.size} bytes, over the ${MAX_BUNDLE_BYTES}-byte limit`,
      );
      this.#report();
      return target;
    }
    await this.#activate({
      version: Number(row.version),
      digest: String(row.digest),
      sig: String(row.sig),
      publisher: String(row.publisher),
      text: new TextDecoder().decode(row.bundle as Uint8Array),
    }, true);
    return target;
  }

  /**
   * A reload in fleet mode (SIGHUP, `POST /api/policy/reload`): fetch and apply the channel's
   * bundle again; the host's own policy files are never loaded over it. Audited.
   */
  async reapply(by: string): Promise<Reapplied> {
    let out: Reapplied;
    try {
      const v = await this.check(true);
      out = v === undefined
        ? { ok: false, message: `fleet mode: channel ${this.channel} has no bundle yet` }
        : this.active === v && this.error === null
        ? { ok: true, message: `fleet mode: re-applied bundle v${v} of channel ${this.channel}` }
        : { ok: false, message: `fleet mode: bundle v${v} refused: ${this.error}` };
    } catch (e) {
      out = {
        ok: false,
        message: `fleet mode: cannot fetch channel ${this.channel} (${(e as Error).message}); ` +
          `keeping bundle v${this.active ?? "none"}`,
      };
    }
    this.#audit(
      "policy.reload",
      out.ok ? "allow" : "deny",
      `${out.message} (by ${by}; local policy files are not loaded in fleet mode)`,
    );
    return out;
  }

  #refused(version: number, problem: string): void {
    this.#failed.add(version);
    this.error = problem;
    this.ctx.log(`policy refused, keeping the last good one: ${problem}`);
    this.#audit("policy.bundle", "deny", `refused, keeping the last good one: ${problem}`);
  }

  #report(): void {
    this.ctx.setStatus("policy", {
      channel: this.channel,
      active: this.active,
      error: this.error,
      parts: this.parts,
      at: new Date().toISOString(),
    });
    this.ctx.lease.renew().catch(() => false);
  }

  async #activate(b: StoredBundle, fetched: boolean): Promise<void> {
    const { ctx } = this;
    const v = await verifyBundle(b, ctx.config.publishers, this.channel);
    let problem: string | undefined = typeof v === "string" ? v : undefined;
    if (typeof v !== "string") {
      // Every part compiles and the plugin trust is written before anything swaps; then the
      // policy, rings and SLOs swap in one synchronous step (no decision sees half a bundle).
      let compiled: CompiledBundle | undefined;
      try {
        compiled = compileBundleParts(v);
        this.#writePluginTrust(compiled);
      } catch (e) {
        const first = e instanceof PolicyError
          ? formatProblem(e.problems[0])
          : (e as Error).message.split("\n")[0];
        problem = compiled
          ? `bundle v${b.version}: plugin trust not written: ${first}`
          : `bundle v${b.version} does not compile: ${first}`;
      }
      if (problem === undefined && compiled) {
        const c = compiled;
        ctx.host.delivery.reload(() => c.policy);
        ctx.host.setRings(c.rings ?? this.#boot!.rings);
        ctx.host.sre.setSlos(c.slos ?? this.#boot!.slos);
        this.parts = partsOf(v);
      }
    }
    if (problem !== undefined) this.#refused(b.version, problem);
    else {
      this.active = b.version;
      this.error = null;
      this.#failed.delete(b.version);
      if (fetched) {
        const tmp = `${this.path}.tmp`;
        Deno.writeTextFileSync(tmp, JSON.stringify(b), { mode: 0o600 });
        Deno.renameSync(tmp, this.path);
      }
    }
    this.#report();
  }

  /** The fleet's plugin keyring and revocations replace the home's store files. */
  #writePluginTrust(c: CompiledBundle): void {
    // Plugin loads re-verify against the home's store files (plugins/store.ts).
    const store = new PluginStore(dirname(this.ctx.config.dir));
    const write = (path: string, value: unknown) => {
      Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const tmp = `${path}.${Deno.pid}.fleet.tmp`;
      Deno.writeTextFileSync(tmp, JSON.stringify(value, null, 2) + "\n", { mode: 0o600 });
      Deno.renameSync(tmp, path);
    };
    if (c.keyring) write(store.keyringPath, c.keyring);
    if (c.revoked) write(store.revokedPath, c.revoked);
  }

  close(): void {
    this.#unguard?.();
    this.#unact?.();
  }
}

/** The bundles part (hosts following a channel). */
export const bundlesPart: FleetPartFactory = (ctx) =>
  ctx.config.channel ? new BundlesPart(ctx, ctx.config.channel) : undefined;
