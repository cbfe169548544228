/**
 * The kernel layers an agent runs under, per ring: which seccomp profile, which Landlock
 * network and scope rules, which of them the ring requires (a start is refused without them)
 * and which are best-effort, and the report of what is in force (audited in `agent.start`,
 * printed by `deno task run --explain-sandbox`). Pure: the launcher's ABI and syscall table
 * are given by the caller (build.ts).
 */

/** The launcher's seccomp deny lists (see warden-sandbox.c and README "Kernel layers"). */
export type SeccompProfile = "minimal" | "kernel" | "full";

/** Landlock ABI versions of the network (TCP) and scope rules. */
export const LANDLOCK_NET_ABI = 4;
export const LANDLOCK_SCOPE_ABI = 6;

/** The loopback port of the egress proxy inside an agent's network namespace. */
export const EGRESS_PORT = 3128;

/** TCP ports the agent may connect to and bind (Landlock ABI 4); empty lists refuse all. */
export interface TcpRules {
  connect: number[];
  bind: number[];
}

/** The kernel settings of one agent's launch (what `agentArgv` turns into launcher flags). */
export interface KernelLayers {
  seccomp: SeccompProfile;
  /** null: TCP is not restricted by the kernel (the ring allows any host and port). */
  tcp: TcpRules | null;
  /** Abstract unix sockets and signals confined to the sandbox (Landlock ABI 6). */
  scope: boolean;
  /** No IPv4, IPv6 or packet socket at all (seccomp): the ring allows no network. */
  noInet: boolean;
  /**
   * A network namespace of its own (rings 2 and 3): only loopback, no route out; egress only
   * through the host's proxy (runtime/egress) when the ring allows any network.
   */
  netns?: boolean;
}

/** One syscall the launcher refuses: its name, errno and the least profile that refuses it. */
export interface DeniedSyscall {
  name: string;
  errno: string;
  from: "kernel" | "full";
}

/**
 * The seccomp profile of a ring: ring 0 (host-trusted) gets only the foreign-ABI kill, ring 1
 * (may run programs, which may debug their own children) the kernel-attack list, rings 2 and 3
 * everything.
 */
export function seccompProfile(ring: number): SeccompProfile {
  return ring <= 0 ? "minimal" : ring === 1 ? "kernel" : "full";
}

/**
 * The ring's `net` ceiling as TCP port rules: `false` refuses every TCP connect and bind; a
 * list whose every pattern names a numeric port allows exactly those ports (Landlock rules
 * are per port, not per host: the broker still decides the host); `true`, or a pattern with
 * any port, leaves TCP to the broker (null).
 */
export function tcpRules(net: boolean | string[]): TcpRules | null {
  if (net === true) return null;
  if (net === false) return { connect: [], bind: [] };
  const ports = new Set<number>();
  for (const p of net) {
    const m = /:(\d{1,5})$/.exec(p);
    if (!m || Number(m[1]) > 65535) return null;
    ports.add(Number(m[1]));
  }
  const list = [...ports].sort((a, b) => a - b);
  return { connect: list, bind: list };
}

/**
 * The layers of an agent at `ring` on a kernel with Landlock ABI `abi`, and the required ones
 * the kernel cannot give. Required: the TCP rules at rings 2 and 3 when the ring restricts TCP
 * (ABI 4). Best-effort (used where the kernel has them, reported as missing otherwise): the
 * scope rules at rings 1 to 3 (ABI 6), and the TCP rules at ring 1. A ring that allows no
 * network at all also gets no IP socket (seccomp: UDP, SCTP, raw and MPTCP too, which Landlock's
 * TCP rules do not see), on every kernel. Rings 2 and 3 also need a network namespace of their
 * own (`netns`: why the launcher cannot make one, or true when it can).
 */
export function kernelLayers(
  ring: number,
  ceiling: { net: boolean | string[] },
  abi: number,
  netns: true | string = true,
): { layers: KernelLayers; missing: string[]; unavailable: string[] } {
  const missing: string[] = [];
  const unavailable: string[] = [];
  const wantsNetns = ring >= 2;
  if (wantsNetns && netns !== true) missing.push(`network namespace (${netns})`);
  let tcp = ring >= 1 ? tcpRules(ceiling.net) : null;
  const noInet = tcp !== null && tcp.connect.length === 0 && tcp.bind.length === 0;
  if (tcp && abi < LANDLOCK_NET_ABI) {
    const why = `Landlock TCP rules (ABI ${LANDLOCK_NET_ABI}; kernel has ${abi})`;
    (ring >= 2 ? missing : unavailable).push(why);
    tcp = null;
  }
  let scope = ring >= 1;
  if (scope && abi < LANDLOCK_SCOPE_ABI) {
    unavailable.push(`Landlock scope rules (ABI ${LANDLOCK_SCOPE_ABI}; kernel has ${abi})`);
    scope = false;
  }
  const layers: KernelLayers = { seccomp: seccompProfile(ring), tcp, scope, noInet };
  if (wantsNetns && netns === true) layers.netns = true;
  return { layers, missing, unavailable };
}

/** Why `sandbox: "require"` refuses this start (a layer the ring needs is missing), or null. */
export function missingLayerRefusal(missing: string[]): string | null {
  return missing.length
    ? `kernel sandbox layer required at this ring but unavailable: ${missing.join("; ")}`
    : null;
}

/** The syscalls a profile refuses, from the launcher's table. */
export function deniedBy(profile: SeccompProfile, table: DeniedSyscall[]): DeniedSyscall[] {
  if (profile === "minimal") return [];
  return table.filter((d) => profile === "full" || d.from === "kernel");
}

/** What one layer does for this agent. */
export interface LayerState {
  layer: string;
  state: "on" | "off" | "missing";
  detail: string;
}

/** What the report is made of. */
export interface LayerInput {
  ring: number;
  /** The launcher's Landlock ABI; null without the kernel sandbox (and why). */
  abi: number | null;
  why?: string;
  /** The launch's path rules and layers (absent without the kernel sandbox). */
  sandbox?: {
    readOnly: string[];
    readWrite: string[];
    pinCwd?: boolean;
    /** No program may be started (`--no-exec`). */
    noExec?: boolean;
    /** The egress proxy's loopback port inside the namespace. */
    egressPort?: number;
  } & Partial<KernelLayers>;
  unavailable?: string[];
  table: DeniedSyscall[];
  /** The budget layers line (limits.ts `budgetLayers`). */
  budgets: string;
}

/** Each layer and what is in force, in the order the report and the audit entry list them. */
export function layerReport(i: LayerInput): LayerState[] {
  const s = i.sandbox;
  const off = (layer: string, first = false): LayerState => ({
    layer,
    state: "off",
    detail: first ? `no kernel sandbox: ${i.why ?? "off"}` : "no kernel sandbox",
  });
  const gone = (needle: string) => (i.unavailable ?? []).find((u) => u.includes(needle));
  const layers: LayerState[] = [];
  if (!s || i.abi === null) {
    layers.push(
      off("landlock-fs", true),
      off("landlock-net"),
      off("netns"),
      off("landlock-scope"),
      off("seccomp"),
    );
    layers.push(off("cwd"), off("exec"));
  } else {
    layers.push({
      layer: "landlock-fs",
      state: "on",
      detail: `ABI ${i.abi}; ${s.readOnly.length} read-only and ${s.readWrite.length} ` +
        `read-write path rules`,
    });
    const tcpGone = gone("TCP");
    layers.push(
      s.tcp
        ? {
          layer: "landlock-net",
          state: "on",
          detail: (s.tcp.connect.length
            ? `TCP connect and bind only to ports ${s.tcp.connect.join(", ")}`
            : "every TCP connect and bind refused") +
            (s.noInet ? "; no IP socket at all (seccomp)" : "; no MPTCP socket (seccomp)"),
        }
        : tcpGone
        ? {
          layer: "landlock-net",
          state: "missing",
          detail: tcpGone + (s.noInet ? "; no IP socket at all (seccomp)" : ""),
        }
        : { layer: "landlock-net", state: "off", detail: "TCP left to the broker at this ring" },
    );
    layers.push(
      s.netns
        ? {
          layer: "netns",
          state: "on",
          detail: s.noInet
            ? "own network namespace: loopback only, no route out (and no IP socket)"
            : `own network namespace: loopback only, no route out, no resolver; egress only ` +
              `through the host's proxy${s.egressPort ? ` on 127.0.0.1:${s.egressPort}` : ""}, ` +
              `each request decided (net.fetch by URL, net.connect by host:port)`,
        }
        : gone("network namespace")
        ? { layer: "netns", state: "missing", detail: gone("network namespace")! }
        : { layer: "netns", state: "off", detail: "the host's network at this ring" },
    );
    const scopeGone = gone("scope");
    layers.push(
      s.scope
        ? {
          layer: "landlock-scope",
          state: "on",
          detail: "no signals to, no abstract unix sockets of, processes outside the sandbox",
        }
        : scopeGone
        ? { layer: "landlock-scope", state: "missing", detail: scopeGone }
        : { layer: "landlock-scope", state: "off", detail: "not applied at this ring" },
    );
    const profile = s.seccomp ?? "minimal";
    const denied = deniedBy(profile, i.table);
    layers.push({
      layer: "seccomp",
      state: "on",
      detail: `profile ${profile}: foreign-ABI syscalls kill` +
        (denied.length ? `; ${denied.length} syscalls refused` : "") +
        (profile === "minimal" ? "" : "; namespace clones and terminal-injection ioctls refused") +
        (profile === "full" ? "; personality changes refused" : ""),
    });
    layers.push({
      layer: "cwd",
      state: s.pinCwd ? "on" : "off",
      detail: s.pinCwd
        ? "pinned: chdir, fchdir and chroot refused"
        : "not pinned (the ring may run programs)",
    });
    layers.push({
      layer: "exec",
      state: s.noExec ? "on" : "off",
      detail: s.noExec
        ? "no program can be started: execve refused after the launcher's own (seccomp)"
        : "programs may be started (the ring may run programs; Landlock bounds what they reach)",
    });
  }
  layers.push({
    layer: "cgroup",
    state: /cgroup v/.test(i.budgets) ? "on" : "off",
    detail: i.budgets,
  });
  layers.push({
    layer: "broker",
    state: "on",
    detail: "every Deno permission check and SDK call decided by the policy",
  });
  return layers;
}

/** The report as one line per layer (the CLI's output). */
export function layerLines(layers: LayerState[]): string[] {
  return layers.map((l) => `${l.layer.padEnd(15)}${l.state.padEnd(9)}${l.detail}`);
}

/** The launcher's deny table, read from its C source (one `{__NR_x, ERR, P_Y}` per entry). */
export function parseDeniedTable(source: string): DeniedSyscall[] {
  const out: DeniedSyscall[] = [];
  for (const m of source.matchAll(/\{__NR_(\w+), (E\w+), P_(KERNEL|FULL)\}/g)) {
    out.push({ name: m[1], errno: m[2], from: m[3] === "FULL" ? "full" : "kernel" });
  }
  return out;
}
