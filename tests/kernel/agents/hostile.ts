/**
 * A hostile agent run with `deno run -A` (Deno's permission checks off, no broker): tries each
 * escape and prints one JSON line per attempt, `ok: true` when it got through. Arguments: a
 * secret file outside its trees, a loopback TCP port and a UDP port the test listens on, a
 * sibling process's pid, the host's pid, and the directory of the secret.
 */
import dgram from "node:dgram";

const [secret, tcpPort, udpPort, sibling, hostPid, secretDir] = Deno.args;
const ws = Deno.cwd();

async function attempt(step: string, fn: () => unknown | Promise<unknown>): Promise<void> {
  try {
    const r = await fn();
    console.log(JSON.stringify({ step, ok: true, detail: String(r).slice(0, 80) }));
  } catch (e) {
    console.log(JSON.stringify({ step, ok: false, error: String(e).slice(0, 160) }));
  }
}
const rel = (p: string) => {
  const up = ws.split("/").filter(Boolean).map(() => "..").join("/");
  return `${up}${p}`;
};

// Files outside the ring's trees.
await attempt("read secret (absolute)", () => Deno.readTextFileSync(secret));
await attempt("read secret (..)", () => Deno.readTextFileSync(rel(secret)));
await attempt("read /etc/shadow", () => Deno.readTextFileSync("/etc/shadow"));
await attempt(
  "read /proc/self/root secret",
  () => Deno.readTextFileSync(`/proc/self/root${secret}`),
);
await attempt("list the secret's directory", () => [...Deno.readDirSync(secretDir)].length);
await attempt("symlink to secret", () => {
  Deno.symlinkSync(secret, `${ws}/ln`);
  return Deno.readTextFileSync(`${ws}/ln`);
});
await attempt("hard link of secret", () => {
  Deno.linkSync(secret, `${ws}/hard`);
  return Deno.readTextFileSync(`${ws}/hard`);
});
await attempt(
  "write outside (absolute)",
  () => Deno.writeTextFileSync(`${secretDir}/planted`, "x"),
);
await attempt(
  "write outside (..)",
  () => Deno.writeTextFileSync(rel(`${secretDir}/planted2`), "x"),
);
await attempt("rename secret into workspace", () => Deno.renameSync(secret, `${ws}/moved`));
await attempt("truncate secret", () => Deno.truncateSync(secret, 0));
await attempt("chmod secret", () => Deno.chmodSync(secret, 0o777));

// Network.
const tryConnect = async (opts: Deno.ConnectOptions) => {
  const c = await Promise.race([
    Deno.connect(opts),
    new Promise<never>((_, rej) => setTimeout(() => rej(new Error("timed out")), 3000)),
  ]);
  await c.write(new TextEncoder().encode("ESCAPED\n"));
  c.close();
  return "connected";
};
await attempt("tcp to host loopback", () => tryConnect({ hostname: "127.0.0.1", port: +tcpPort }));
await attempt("tcp to a public IP", () => tryConnect({ hostname: "1.1.1.1", port: 80 }));
await attempt("tcp6 to host loopback", () => tryConnect({ hostname: "::1", port: +tcpPort }));
await attempt("udp to host loopback", async () => {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((res, rej) => {
    s.once("error", rej);
    s.send("ESCAPED", +udpPort, "127.0.0.1", (e) => (e ? rej(e) : res()));
  });
  s.close();
  return "sent";
});

await attempt("unix socket outside its trees", async () => {
  const c = await Deno.connect({ transport: "unix", path: `${secretDir}/host.sock` });
  await c.write(new TextEncoder().encode("ESCAPED\n"));
  c.close();
  return "connected";
});

// Signals.
await attempt("signal the host", () => Deno.kill(+hostPid, "SIGCONT"));
await attempt("kill a sibling", () => Deno.kill(+sibling, "SIGKILL"));

// Other processes' memory, by raw syscalls (FFI: -A allows it).
const libc = Deno.dlopen("libc.so.6", {
  ptrace: { parameters: ["i64", "i32", "pointer", "pointer"], result: "i64" },
});
await attempt("ptrace attach a sibling", () => {
  const r = libc.symbols.ptrace(16n, /* PTRACE_ATTACH */ +sibling, null, null);
  if (r !== 0n) throw new Error(`ptrace returned ${r}`);
  return r;
});
await attempt("read /proc/<sibling>/mem", () => {
  const f = Deno.openSync(`/proc/${sibling}/mem`);
  f.close();
  return "opened";
});
await attempt("read /proc/<host>/environ", () => Deno.readTextFileSync(`/proc/${hostPid}/environ`));

// Programs.
const spawn = async (cmd: string, args: string[] = []) => {
  const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return `exit ${o.code}: ${new TextDecoder().decode(o.stdout).slice(0, 40)}`;
};
await attempt("run /bin/sh", () => spawn("/bin/sh", ["-c", "echo ran"]));
await attempt("run /usr/bin/env", () => spawn("/usr/bin/env"));
await attempt("run a program under /usr/lib", () => spawn("/usr/lib/udev/ata_id", ["--help"]));
await attempt(
  "run the dynamic loader on a program",
  () => spawn("/lib64/ld-linux-x86-64.so.2", ["/usr/bin/id"]),
);
await attempt("run deno itself", () => spawn(Deno.execPath(), ["eval", "console.log('ran')"]));
await attempt("run a copied program", () => {
  const dst = `${ws}/copied`;
  Deno.copyFileSync(Deno.execPath(), dst);
  Deno.chmodSync(dst, 0o755);
  return spawn(dst, ["eval", "console.log('ran')"]);
});
console.log(JSON.stringify({ step: "done", ok: false }));
