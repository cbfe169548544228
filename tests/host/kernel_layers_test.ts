/**
 * Issue 20 item 4: the host says which kernel layers are in force (the `agent.start` entry and
 * `deno task run --explain-sandbox`), picks them per ring, and refuses a start under
 * `sandbox: "require"` when a layer the ring needs is missing (a kernel too old for Landlock's
 * TCP rules, faked by a host whose launcher reports an older ABI).
 */
import { join } from "node:path";
import { assertEquals } from "../policy/asserts.ts";
import {
  kernelLayers,
  missingLayerRefusal,
  seccompProfile,
  tcpRules,
} from "../../runtime/supervisor/sandbox/layers.ts";
import { agentArgv, kernelLayerFlags } from "../../runtime/supervisor/spawn.ts";
import { landlockSandbox } from "../../runtime/supervisor/sandbox/build.ts";
import { AgentHost } from "../../runtime/host.ts";
import { loadPolicy, loadRings } from "../../runtime/policy/loader.ts";
import { escapeAgent, newHost } from "./helpers.ts";
import { runDeno } from "../cli/run.ts";
import type { Ring } from "../../governance/rings/mod.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("layers: seccomp profile and TCP/scope rules per ring; which are required", () => {
  assertEquals([0, 1, 2, 3].map(seccompProfile), ["minimal", "kernel", "full", "full"]);
  assertEquals(tcpRules(true), null);
  assertEquals(tcpRules(false), { connect: [], bind: [] });
  assertEquals(tcpRules(["api.example.com:443", "*:8443", "x:443"]), {
    connect: [443, 8443],
    bind: [443, 8443],
  });
  assertEquals(tcpRules(["api.example.com"]), null); // any port: TCP left to the broker
  assertEquals(tcpRules(["a:99999"]), null);
  const ring3 = kernelLayers(3, { net: false }, 7);
  assertEquals(ring3, {
    layers: {
      seccomp: "full",
      tcp: { connect: [], bind: [] },
      scope: true,
      noInet: true,
      netns: true,
    },
    missing: [],
    unavailable: [],
  });
  assertEquals(kernelLayers(2, { net: true }, 7).layers, {
    seccomp: "full",
    tcp: null,
    scope: true,
    noInet: false,
    netns: true,
  });
  // Rings 2 and 3 need a network namespace of their own; without one the start is refused.
  const noNs = kernelLayers(2, { net: true }, 7, "cannot unshare: Operation not permitted");
  assertEquals(noNs.missing, ["network namespace (cannot unshare: Operation not permitted)"]);
  assertEquals(noNs.layers.netns, undefined);
  assertEquals(kernelLayers(1, { net: true }, 7, "no").missing, []);
  assertEquals(kernelLayers(0, { net: false }, 7).layers, {
    seccomp: "minimal",
    tcp: null,
    scope: false,
    noInet: false,
  });
  // An older kernel: TCP rules are required at rings 2-3, best-effort at ring 1; scope is
  // always best-effort.
  const old3 = kernelLayers(3, { net: false }, 3);
  assertEquals(old3.missing, ["Landlock TCP rules (ABI 4; kernel has 3)"]);
  assertEquals(old3.unavailable, ["Landlock scope rules (ABI 6; kernel has 3)"]);
  if (!missingLayerRefusal(old3.missing)?.includes("Landlock TCP rules")) throw new Error();
  const old1 = kernelLayers(1, { net: ["x:80"] }, 3);
  assertEquals(old1.missing, []);
  assertEquals(old1.layers.tcp, null);
  assertEquals(old1.unavailable.length, 2);
  assertEquals(missingLayerRefusal([]), null);
  assertEquals(kernelLayerFlags(ring3.layers), [
    "--seccomp=full",
    "--tcp",
    "--no-inet",
    "--netns",
    "--scope",
  ]);
  assertEquals(old3.layers.noInet, true); // seccomp needs no Landlock ABI
  assertEquals(
    kernelLayerFlags({
      seccomp: "kernel",
      tcp: { connect: [443], bind: [] },
      scope: false,
      noInet: false,
    }),
    ["--seccomp=kernel", "--tcp", "--tcp-connect", "443"],
  );
});

Deno.test("spawn: the ring's kernel layers reach the launcher's command line", () => {
  const argv = agentArgv({
    deno: "/deno",
    bootstrap: "/b.ts",
    agentUrl: "file:///a.ts",
    sdkSocket: "/s",
    brokerSocket: "/b",
    workspace: "/w",
    denoDir: "/d",
    importMap: "/m.json",
    flags: [],
    heapMb: 64,
    cpuSeconds: 1,
    stdout: "null",
    stderr: "null",
    sandbox: {
      launcher: "/launcher",
      readOnly: ["/r"],
      readWrite: ["/w"],
      pinCwd: true,
      ...kernelLayers(3, { net: false }, 7).layers,
    },
  });
  const at = argv.indexOf("/launcher");
  assertEquals(argv.slice(at, argv.indexOf("--", at)), [
    "/launcher",
    "--pin-cwd",
    "--seccomp=full",
    "--tcp",
    "--no-inet",
    "--netns",
    "--scope",
    "--ro",
    "/r",
    "--rw",
    "/w",
  ]);
});

/** A host whose kernel is faked to have an older Landlock ABI. */
class OldKernelHost extends AgentHost {
  constructor(private abi: number) {
    super({
      policy: loadPolicy([join(ROOT, "policies/agents.yaml")], { builtin: true }),
      rings: loadRings(),
    });
  }
  override sandbox() {
    return { ...landlockSandbox(), abi: this.abi };
  }
}

async function startAt(host: AgentHost, ring: Ring) {
  const ws = await Deno.makeTempDir({ prefix: "warden-layers-" });
  try {
    const h = await host.start({ module: escapeAgent("trivial.ts"), workspace: ws, ring });
    const [out] = await Promise.all([new Response(h.process.stdout!).text(), h.exited]);
    if (!out.includes("trivial agent alive")) throw new Error(`agent did not run: ${out}`);
    const start = host.audit.recent.findLast((e) => e.action === "agent.start");
    return start?.layers as Record<string, string> | undefined;
  } finally {
    await Deno.remove(ws, { recursive: true });
  }
}

Deno.test("agent.start audits each layer in force at the agent's ring", opts, async () => {
  const host = newHost();
  try {
    const r3 = await startAt(host, 3);
    if (!r3) throw new Error("agent.start has no layers");
    assertEquals(
      r3["landlock-net"],
      "on: every TCP connect and bind refused; no IP socket at all (seccomp)",
    );
    if (!r3["landlock-fs"].startsWith(`on: ABI ${landlockSandbox().abi};`)) {
      throw new Error(r3["landlock-fs"]);
    }
    if (!r3.seccomp.startsWith("on: profile full")) throw new Error(r3.seccomp);
    assertEquals(r3.cwd, "on: pinned: chdir, fchdir and chroot refused");
    if (!r3["landlock-scope"].startsWith("on:")) throw new Error(r3["landlock-scope"]);
    if (!r3.broker.startsWith("on:")) throw new Error(r3.broker);
    if (!r3.cgroup.includes("budgets:")) throw new Error(r3.cgroup);
    const r1 = await startAt(host, 1);
    if (!r1?.seccomp.startsWith("on: profile kernel")) throw new Error(r1?.seccomp);
    assertEquals(r1["landlock-net"], "off: TCP left to the broker at this ring");
    const r0 = await startAt(host, 0);
    if (!r0?.seccomp.startsWith("on: profile minimal")) throw new Error(r0?.seccomp);
    assertEquals(r0["landlock-scope"], "off: not applied at this ring");
  } finally {
    await host.close();
  }
});

Deno.test(
  "sandbox require: a kernel without Landlock TCP rules refuses ring 3, runs ring 2",
  opts,
  async () => {
    const host = new OldKernelHost(3);
    const ws = await Deno.makeTempDir({ prefix: "warden-oldkernel-" });
    try {
      let msg = "";
      try {
        await host.start({ module: escapeAgent("trivial.ts"), workspace: ws, ring: 3 });
      } catch (e) {
        msg = (e as Error).message;
      }
      if (!msg.includes("layer required at this ring but unavailable: Landlock TCP rules")) {
        throw new Error(`expected a refusal, got: ${msg || "a start"}`);
      }
      // Ring 2 leaves TCP to the broker: it starts, and the missing scope rules are audited.
      const r2 = await startAt(host, 2);
      assertEquals(r2?.["landlock-scope"], "missing: Landlock scope rules (ABI 6; kernel has 3)");
    } finally {
      await host.close();
      await Deno.remove(ws, { recursive: true });
    }
  },
);

Deno.test(
  "deno task run --explain-sandbox prints the layers and rules, starts nothing",
  opts,
  async () => {
    const ran = await runDeno([
      "task",
      "-q",
      "run",
      escapeAgent("trivial.ts"),
      "--ring",
      "3",
      "--explain-sandbox",
    ]);
    assertEquals(ran.code, 0, ran.stderr);
    const out = ran.stdout;
    for (
      const want of [
        "at ring 3",
        "landlock-net   on       every TCP connect and bind refused; no IP socket at all",
        "seccomp        on       profile full",
        "seccomp full refuses:",
        "ptrace (EPERM)",
        "clone3 (ENOSYS)",
        "landlock read-only:",
        "start: allowed",
      ]
    ) {
      if (!out.includes(want)) throw new Error(`missing ${JSON.stringify(want)} in:\n${out}`);
    }
    if (out.includes("trivial agent alive")) throw new Error("the agent was started");
  },
);

Deno.test("deno task run --verbose prints each layer at start", opts, async () => {
  const ran = await runDeno(["task", "-q", "run", escapeAgent("trivial.ts"), "--verbose"]);
  assertEquals(ran.code, 0, ran.stderr);
  for (const layer of ["landlock-fs: on", "seccomp: on: profile full", "cwd: on", "broker: on"]) {
    if (!ran.stderr.includes(`warden: layer ${layer}`)) throw new Error(ran.stderr);
  }
});
