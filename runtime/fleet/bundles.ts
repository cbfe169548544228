/**
 * Signed, versioned policy bundles (FLEET.md §6.1). A bundle is the canonical JSON of
 * `{format, channel, version, files}` (the policy files of a directory, as text); its digest is
 * the sha-256 of those bytes and the publisher's Ed25519 signature covers the digest, so the
 * version and the channel are signed too (no replay of an old bundle as a new version, no move
 * to another channel). `publishBundle` compiles first, then in one transaction takes the next
 * version from the `policy` stream head, stores the bundle, moves the channel and NOTIFYs.
 *
 * The host part follows one channel: on notify, every `policyPollMs` and after a reconnect it
 * reads the channel; when the version for this host (the canary's when `hash(host id) <
 * canary_share`) is newer than the active one it fetches, verifies digest, signature (a
 * publisher did from the boot config) and channel, compiles, swaps atomically (the host's
 * policy delivery: a bundle that does not compile never replaces the live policy), persists it
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
  PolicyError,
  type PolicySource,
} from "../../governance/mod.ts";
import { b64url, type Signer, unb64url, verifyDid } from "../../governance/identity/mod.ts";
import { attachOutputRules, compileOutputRules } from "../../governance/outputs/mod.ts";
import { realPath } from "../broker/map.ts";
import { cedarEngine } from "../policy/cedar_engine.ts";
import { BUILTIN_POLICY, loadPolicy } from "../policy/loader.ts";
import type { FleetDb, Wakeup } from "./db.ts";
import type { FleetContext, FleetPart, FleetPartFactory } from "./mod.ts";

/** The wake-up channel of policy channel moves (payload: the channel name). */
export const POLICY_CHANNEL = "warden_policy";

/** A bundle's content (what the digest and the signature cover). */
export const BundleContent = z.strictObject({
  format: z.literal(1),
  channel: z.string().min(1).max(64),
  version: z.number().int().positive(),
  files: z.array(z.strictObject({ path: z.string().min(1).max(512), text: z.string() }))
    .min(1).max(10_000),
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
  let content: BundleContent;
  try {
    content = BundleContent.parse(JSON.parse(b.text));
  } catch {
    return `bundle v${b.version}: malformed content`;
  }
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
): Promise<Published> {
  return await db.tx("publish bundle", async (tx) => {
    const [ch] = await tx`SELECT frozen FROM policy_channels WHERE name = ${channel} FOR UPDATE`;
    if (ch?.frozen) throw new Error(`channel ${channel} is frozen: no rollouts until unfrozen`);
    const [h] = await tx`UPDATE stream_heads SET pos = pos + 1 WHERE stream = 'policy'
      RETURNING pos`;
    const version = Number(h.pos);
    const text = canonicalJson({ format: 1, channel, version, files });
    const digest = sha256(text);
    const sig = b64url(await signer.sign(signed(digest)));
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

/** The bundles part: follows `config.channel`. */
export class BundlesPart implements FleetPart {
  readonly name = "bundles";
  active: number | null = null;
  error: string | null = null;
  #failed = new Set<number>();
  #unguard: (() => void) | undefined;
  readonly path: string;

  constructor(readonly ctx: FleetContext, readonly channel: string) {
    this.path = join(ctx.config.dir, "bundle.json");
  }

  async start(): Promise<void> {
    const { ctx } = this;
    this.#unguard = ctx.host.addGuard((ask) =>
      this.active === null && ask.kind !== "raise"
        ? `fleet policy: no bundle of channel ${this.channel} is active on this host yet ` +
          `(${this.error ?? "none persisted and none fetched"}); starting no agents`
        : undefined
    );
    await this.#boot();
    await this.check().catch(() => {}); // the database may be down: the persisted one stays
    if (this.active === null) ctx.log(this.#guardLine());
    ctx.watch(POLICY_CHANNEL, ctx.config.policyPollMs, () => this.check());
  }

  #guardLine(): string {
    return `policy channel ${this.channel}: no bundle active (${this.error ?? "none yet"}); ` +
      "starting no agents until one is";
  }

  async #boot(): Promise<void> {
    let stored: StoredBundle;
    try {
      stored = StoredBundle.parse(JSON.parse(Deno.readTextFileSync(this.path)));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) this.error = `persisted bundle unreadable`;
      return;
    }
    await this.#activate(stored, false);
  }

  /** Read the channel; fetch, verify, compile and swap in a newer version for this host. */
  async check(): Promise<void> {
    const { ctx } = this;
    const [ch] = await ctx.db.q(
      "policy channel",
      (sql) =>
        sql`SELECT version, canary_version, canary_share FROM policy_channels
        WHERE name = ${this.channel}`,
    );
    if (!ch) return;
    const canary = ch.canary_version !== null && canaryPoint(ctx.hostId) < ch.canary_share;
    const target = Number(canary ? ch.canary_version : ch.version);
    if ((this.active !== null && target <= this.active) || this.#failed.has(target)) return;
    const [row] = await ctx.db.q(
      "policy bundle",
      (sql) =>
        sql`SELECT version, digest, bundle, sig, publisher FROM policy_bundles
        WHERE version = ${target}`,
    );
    if (!row) return;
    await this.#activate({
      version: Number(row.version),
      digest: String(row.digest),
      sig: String(row.sig),
      publisher: String(row.publisher),
      text: new TextDecoder().decode(row.bundle as Uint8Array),
    }, true);
  }

  async #activate(b: StoredBundle, fetched: boolean): Promise<void> {
    const { ctx } = this;
    const v = await verifyBundle(b, ctx.config.publishers, this.channel);
    let problem: string | undefined = typeof v === "string" ? v : undefined;
    if (typeof v !== "string") {
      const r = ctx.host.delivery.reload(() => compileBundle(v));
      if (!r.ok) problem = `bundle v${b.version} does not compile: ${r.problems[0]}`;
    }
    if (problem !== undefined) {
      this.#failed.add(b.version);
      this.error = problem;
      ctx.log(`policy refused, keeping the last good one: ${problem}`);
    } else {
      this.active = b.version;
      this.error = null;
      if (fetched) {
        const tmp = `${this.path}.tmp`;
        Deno.writeTextFileSync(tmp, JSON.stringify(b), { mode: 0o600 });
        Deno.renameSync(tmp, this.path);
      }
    }
    ctx.setStatus("policy", {
      channel: this.channel,
      active: this.active,
      error: this.error,
      at: new Date().toISOString(),
    });
    ctx.lease.renew().catch(() => false);
  }

  close(): void {
    this.#unguard?.();
  }
}

/** The bundles part (hosts following a channel). */
export const bundlesPart: FleetPartFactory = (ctx) =>
  ctx.config.channel ? new BundlesPart(ctx, ctx.config.channel) : undefined;
