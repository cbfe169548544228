/**
 * Build (once, cached by source hash) and probe the Landlock and seccomp launcher, and ask it
 * the kernel's Landlock ABI (which decides the network and scope rules: layers.ts). Returns
 * null, with the reason, when there is no C compiler or the kernel has no Landlock (or cannot
 * take the seccomp filter): the host then refuses to start agents, with that reason, unless
 * the operator turned the sandbox off explicitly (see mode.ts).
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { type DeniedSyscall, parseDeniedTable } from "./layers.ts";

const SOURCE = new URL("./warden-sandbox.c", import.meta.url).pathname;

export interface Sandbox {
  path: string | null;
  /** Why there is no sandbox (when path is null). */
  why: string;
  /** The kernel's Landlock ABI version (when path is set). */
  abi?: number;
  /** true: the launcher can give an agent its own network namespace; else why it cannot. */
  netns?: true | string;
}

/** The syscalls the launcher refuses, per profile (its C table). */
export function deniedSyscalls(): DeniedSyscall[] {
  return (table ??= parseDeniedTable(Deno.readTextFileSync(SOURCE)));
}
let table: DeniedSyscall[] | undefined;

let cached: Sandbox | undefined;

function cacheDir(): string {
  const base = Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/tmp", ".cache");
  return join(base, "warden");
}

/** The launcher binary, built from `warden-sandbox.c` with the system C compiler. */
export function landlockSandbox(): Sandbox {
  if (cached) return cached;
  const src = Deno.readTextFileSync(SOURCE);
  const hash = createHash("sha256").update(src).digest("hex").slice(0, 16);
  const dir = cacheDir();
  const bin = join(dir, `warden-sandbox-${hash}`);
  try {
    Deno.statSync(bin);
  } catch {
    Deno.mkdirSync(dir, { recursive: true });
    const tmp = `${bin}.${Deno.pid}.tmp`;
    let out;
    try {
      out = new Deno.Command("cc", {
        args: ["-O2", "-o", tmp, SOURCE],
        stdout: "null",
        stderr: "piped",
      }).outputSync();
    } catch {
      return (cached = { path: null, why: "no C compiler (cc) to build the Landlock launcher" });
    }
    if (!out.success) {
      return (cached = {
        path: null,
        why: `cannot build the Landlock launcher: ${new TextDecoder().decode(out.stderr).trim()}`,
      });
    }
    Deno.renameSync(tmp, bin);
  }
  const probe = new Deno.Command(bin, {
    args: ["--ro", "/", "--", "/bin/true"],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  if (!probe.success) {
    return (cached = {
      path: null,
      why: new TextDecoder().decode(probe.stderr).trim() || `probe exited ${probe.code}`,
    });
  }
  const abi = new Deno.Command(bin, { args: ["--abi"], stdout: "piped", stderr: "null" })
    .outputSync();
  const ns = new Deno.Command(bin, {
    args: ["--netns", "--ro", "/", "--", "/bin/true"],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  return (cached = {
    path: bin,
    why: "",
    abi: Number(new TextDecoder().decode(abi.stdout)) || 1,
    netns: ns.success ||
      (new TextDecoder().decode(ns.stderr).trim().replace(/^warden-sandbox: /, "") ||
        `probe exited ${ns.code}`),
  });
}
