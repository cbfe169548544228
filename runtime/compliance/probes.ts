/**
 * Live probes for compliance controls: each one exercises the configured system for real (a
 * throwaway host with the configured policy and rings, a real message router, a real approval
 * queue, the real plugin verifier) and returns what it saw. A probe never passes on a setting
 * or a constant; when it cannot run, it says why.
 */
import { createHash } from "node:crypto";
import type { CompiledPolicy } from "../../governance/mod.ts";
import type { RingCeilings } from "../../governance/rings/mod.ts";
import type { Status } from "../../governance/compliance/mod.ts";
import { b64url, sealEnvelope, signerFromKeyPair } from "../../governance/identity/mod.ts";
import type { Keyring, Revocations } from "../../governance/plugins/trust.ts";
import { signingPayload, verifyPlugin } from "../../governance/plugins/trust.ts";
import { HOST_VERSION, type PluginManifest } from "../../governance/plugins/manifest.ts";
import { canonicalJson } from "../../governance/audit/mod.ts";
import { ApprovalQueue } from "../approvals/queue.ts";
import { AuditLog } from "../audit/log.ts";
import { type AgentRef, Governor } from "../governor.ts";
import { AgentHost } from "../host.ts";
import { MessageRouter } from "../messages/router.ts";
import { servePeer } from "../server/peer.ts";
import { pipeLines } from "../supervisor/output.ts";

/** The real randomness, injected into the pure envelope sealing. */
const random = (b: Uint8Array) => crypto.getRandomValues(b);

/** What a probe found. */
export interface ProbeResult {
  status: Status;
  evidence: string;
}

const SPIN = new URL("./probe_agents/spin.ts", import.meta.url).pathname;
/** Generous: a probe agent needs a Deno start-up, possibly under a loaded machine. */
const PROBE_DEADLINE_MS = 60_000;

async function newSigner() {
  const kp = await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"]) as CryptoKeyPair;
  return await signerFromKeyPair(kp);
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Live processes whose process group is `pgid` (the agent's group). */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // rest[0] is the state, rest[2] the process group.
      if (Number(rest[2]) === pgid && rest[0] !== "Z" && rest[0] !== "X") out.push(Number(e.name));
    } catch { /* gone meanwhile */ }
  }
  return out;
}

/**
 * Kill switch: start a busy-looping agent in a throwaway host with the configured policy and
 * rings (and the host's default sandbox), kill it, and check it died of SIGKILL, that its
 * process group is reaped, and that the kill is in the audit log.
 */
export async function probeKillSwitch(
  policy: CompiledPolicy,
  rings: RingCeilings,
): Promise<ProbeResult> {
  const stateDir = await Deno.makeTempDir({ prefix: "warden-compliance-" });
  let host: AgentHost | null = null;
  try {
    host = new AgentHost({ policy, rings, stateDir, killOnDenials: null });
    let handle;
    try {
      handle = await within(
        host.start({ module: SPIN, name: "compliance-kill-probe", stdio: "piped" }),
        PROBE_DEADLINE_MS,
        "the probe agent's start",
      );
    } catch (e) {
      return {
        status: "fail",
        evidence: `the configured host could not start a probe agent: ${(e as Error).message}`,
      };
    }
    const h = handle;
    let errors = "";
    pipeLines(h.process.stderr, (l) => {
      if (errors.length < 2000) errors += l + "\n";
    });
    const spinning = new Promise<boolean>((resolve) => {
      pipeLines(h.process.stdout, (l) => {
        if (l === "spinning") resolve(true);
      });
      h.exited.then(() => resolve(false));
    });
    if (!(await within(spinning, PROBE_DEADLINE_MS, "the probe agent's busy loop"))) {
      const e = await h.exited;
      return {
        status: "fail",
        evidence:
          `the probe agent exited (code ${e.code}) before its busy loop under the configured policy and rings${
            errors ? `: ${errors.trim().split("\n").slice(-1)[0]}` : ""
          }`,
      };
    }
    const t0 = performance.now();
    const exit = await within(
      h.kill("compliance probe"),
      PROBE_DEADLINE_MS,
      "the kill of the busy-looping agent",
    );
    const ms = Math.round(performance.now() - t0);
    const left = groupMembers(h.pid);
    const audited = host.audit.recent.some((e) =>
      e.action === "agent.kill" && e.agent.id === h.id && e.resource === String(h.pid) &&
      e.reason === "kill switch: compliance probe"
    );
    const problems: string[] = [];
    if (exit.signal !== "SIGKILL") {
      problems.push(`it ended by ${exit.signal ?? `exit ${exit.code}`}`);
    }
    if (exit.killed !== "compliance probe") problems.push("the host did not record the kill");
    if (left.length > 0) problems.push(`processes of its group still alive: ${left.join(", ")}`);
    if (!audited) problems.push("no agent.kill audit entry");
    return problems.length > 0
      ? { status: "fail", evidence: `kill probe (pid ${h.pid}): ${problems.join("; ")}` }
      : {
        status: "pass",
        evidence:
          `live probe: a busy-looping agent (pid ${h.pid}, ring ${h.ref.ring}, configured policy and rings) was killed by SIGKILL in ${ms} ms, its process group reaped, agent.kill audited`,
      };
  } catch (e) {
    return { status: "fail", evidence: `kill probe: ${(e as Error).message}` };
  } finally {
    await host?.close().catch(() => {});
    await Deno.remove(stateDir, { recursive: true }).catch(() => {});
  }
}

const probeRef = (id: string, name: string): AgentRef => ({
  id,
  name,
  ring: 2,
  trust: 500,
  labels: {},
  workspace: "/nonexistent/warden-compliance/ws",
  code: "/nonexistent/warden-compliance/code",
  sdk: "/nonexistent/warden-compliance/sdk",
});

/**
 * Signed messages: seal and deliver an envelope through a real router (locally and through the
 * peer endpoint), then check that a tampered payload, a replayed envelope and a forged
 * signature are refused and that each refusal is audited.
 */
export async function probeMessages(
  policy: CompiledPolicy,
  rings: RingCeilings,
): Promise<ProbeResult & { peerUrl: string | null }> {
  const audit = new AuditLog(undefined);
  const governor = new Governor(policy, rings, audit);
  const router = new MessageRouter(governor);
  const [a, b] = [await newSigner(), await newSigner()];
  router.register(probeRef(b.did, "compliance-msg-b"));
  const problems: string[] = [];
  const seen: string[] = [];
  let peerUrl: string | null = null;
  const peer = servePeer(router);
  try {
    peerUrl = peer.url;
    const ctl = new AbortController();
    await router.send(a, b.did, { probe: 1 });
    const got = await router.receive(b.did, 5_000, ctl.signal);
    if (got?.from === a.did && canonicalJson(got.payload) === canonicalJson({ probe: 1 })) {
      seen.push("a sealed envelope was delivered");
    } else problems.push("a sealed envelope was not delivered intact");

    // Over the peer endpoint, from a second router that knows this one as a peer.
    const remote = new MessageRouter(new Governor(policy, rings, new AuditLog(undefined)), {
      peers: [peer.url],
    });
    const c = await newSigner();
    await remote.send(c, b.did, { probe: 2 });
    const viaPeer = await router.receive(b.did, 5_000, ctl.signal);
    if (viaPeer?.from === c.did) seen.push(`delivered through the peer endpoint ${peer.url}`);
    else problems.push("an envelope sent through the peer endpoint was not delivered");

    const env = await sealEnvelope(a, b.did, { probe: 3 }, 1000, Date.now(), random);
    const expect = async (what: string, raw: unknown, payload: unknown, reason: string) => {
      const r = await router.deliver(raw, payload);
      if (r.ok) problems.push(`${what} was accepted`);
      else if (r.reason !== reason) {
        problems.push(`${what} refused as "${r.reason}", not "${reason}"`);
      } else seen.push(`${what} refused (${reason})`);
    };
    await expect("a tampered payload", env, { probe: 4 }, "tampered payload");
    const first = await router.deliver(env, { probe: 3 });
    if (!first.ok) problems.push(`a fresh envelope was refused: ${first.reason}`);
    await router.receive(b.did, 0, ctl.signal);
    await expect("a replayed envelope", env, { probe: 3 }, "replayed nonce");
    const other = await sealEnvelope(a, b.did, { probe: 5 }, 1001, Date.now(), random);
    const forged = { ...other, sig: env.sig };
    await expect("a forged signature", forged, { probe: 5 }, "bad signature");
    const refusals = audit.recent.filter((e) =>
      e.action === "message.receive" && e.effect === "deny"
    ).length;
    if (refusals < 3) problems.push(`only ${refusals} of 3 refusals audited`);
    else seen.push(`${refusals} refusals audited`);
  } catch (e) {
    problems.push((e as Error).message);
  } finally {
    await peer.shutdown().catch(() => {});
    await audit.close().catch(() => {});
  }
  return problems.length > 0
    ? { status: "fail", evidence: `message probe: ${problems.join("; ")}`, peerUrl }
    : { status: "pass", evidence: `live probe: ${seen.join("; ")}`, peerUrl };
}

/**
 * Approvals: park a request in a real approval queue with a short timeout; a decision bound to
 * another hash must be refused, and the request must end denied when nobody decides.
 */
export async function probeApprovals(
  policy: CompiledPolicy,
  rings: RingCeilings,
  rule: string,
): Promise<ProbeResult> {
  const audit = new AuditLog(undefined);
  const queue = new ApprovalQueue(new Governor(policy, rings, audit), 200);
  try {
    const outcome = queue.park(probeRef("did:key:z6MkComplianceProbe", "compliance-approval"), {
      action: "tool.call",
      resource: "compliance-probe",
      args: { command: "true" },
    }, { effect: "require_approval", rule, reason: "compliance probe", seq: 0 });
    const [pending] = queue.list();
    const mismatch = pending ? queue.decide(pending.id, "approved", "probe", "0".repeat(64)) : null;
    const result = await within(outcome, 30_000, "the approval timeout");
    const problems: string[] = [];
    if (mismatch !== "mismatch") problems.push(`an approval with the wrong hash gave ${mismatch}`);
    if (result !== "denied") problems.push(`an undecided request ended ${result}`);
    return problems.length > 0
      ? { status: "fail", evidence: `approval probe: ${problems.join("; ")}` }
      : {
        status: "pass",
        evidence:
          "live probe: a decision bound to another hash was refused (hash mismatch refused); an undecided parked request timed out to deny",
      };
  } finally {
    await audit.close().catch(() => {});
  }
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/**
 * Plugin signatures: run the real verifier with the configured keyring and revocations on a
 * probe plugin: unsigned, signed by a publisher the keyring does not trust, and (with the probe
 * key trusted for this run only) with a file changed after signing. All must be refused; the
 * untouched plugin must pass, so the refusals are not an artifact of a broken probe.
 */
export async function probePlugins(
  keyring: Keyring,
  revocations: Revocations,
): Promise<ProbeResult> {
  const signer = await newSigner();
  const main = "export default {};\n";
  const manifest: PluginManifest = {
    name: "compliance-probe",
    version: "1.0.0",
    description: "compliance probe",
    author: "warden",
    publisher: signer.did,
    entry: "main.ts",
    capabilities: {},
    tools: {},
    minHostVersion: HOST_VERSION,
    files: { "main.ts": sha(main) },
  } as PluginManifest;
  const manifestText = JSON.stringify(manifest);
  const signatureText = JSON.stringify({
    v: 1,
    publisher: signer.did,
    sig: b64url(await signer.sign(signingPayload(manifest))),
  });
  const base = { manifestText, fileHashes: manifest.files, revocations, label: "compliance-probe" };
  const trusted: Keyring = {
    ...keyring,
    publishers: [
      ...keyring.publishers,
      { did: signer.did, name: "compliance-probe", addedAt: new Date().toISOString() },
    ] as Keyring["publishers"],
  };
  const refused = async (input: Parameters<typeof verifyPlugin>[0]) => {
    try {
      await verifyPlugin(input);
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  };
  const problems: string[] = [];
  const seen: string[] = [];
  const cases: [string, Parameters<typeof verifyPlugin>[0]][] = [
    ["unsigned plugin", { ...base, signatureText: null, keyring }],
    ["untrusted publisher", { ...base, signatureText, keyring }],
    [
      "changed file",
      { ...base, signatureText, keyring: trusted, fileHashes: { "main.ts": sha(main + "//x") } },
    ],
  ];
  for (const [what, input] of cases) {
    const why = await refused(input);
    if (why === null) problems.push(`${what} accepted`);
    else seen.push(`${what} refused`);
  }
  const control = await refused({ ...base, signatureText, keyring: trusted });
  if (control !== null) problems.push(`the untouched probe plugin was refused: ${control}`);
  return problems.length > 0
    ? { status: "fail", evidence: `plugin probe: ${problems.join("; ")}` }
    : { status: "pass", evidence: `live probe of the verifier: ${seen.join(", ")}` };
}

/**
 * Kernel sandbox: under the Landlock launcher, a process given only the system directories
 * must be refused a file outside them, and read it when its directory is granted (so the
 * refusal is the kernel's rule, not a broken probe).
 */
export async function probeKernelSandbox(launcher: string): Promise<ProbeResult> {
  const dir = await Deno.makeTempDir({ prefix: "warden-compliance-" });
  try {
    const secret = `${dir}/secret.txt`;
    await Deno.writeTextFile(secret, "compliance-probe-secret\n");
    const system = ["/usr", "/bin", "/lib", "/lib64", "/lib32"].filter((p) => {
      try {
        Deno.statSync(p);
        return true;
      } catch {
        return false;
      }
    });
    const cat = ["/bin/cat", "/usr/bin/cat"].find((p) => {
      try {
        return Deno.statSync(p).isFile;
      } catch {
        return false;
      }
    });
    if (!cat) return { status: "manual", evidence: "no cat binary to probe the sandbox with" };
    const run = async (extra: string[]) => {
      const out = await new Deno.Command(launcher, {
        args: [...system.flatMap((p) => ["--ro", p]), ...extra, "--", cat, secret],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return new TextDecoder().decode(out.stdout).includes("compliance-probe-secret");
    };
    const denied = !(await run([]));
    const granted = await run(["--ro", dir]);
    if (denied && granted) {
      return {
        status: "pass",
        evidence:
          `live probe: under the Landlock launcher ${launcher} a file outside the granted roots was refused, and read once its directory was granted`,
      };
    }
    return {
      status: "fail",
      evidence: denied
        ? "sandbox probe: a granted file could not be read either (the probe is inconclusive)"
        : `sandbox probe: a process under ${launcher} read a file outside its granted roots`,
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
