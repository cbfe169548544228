/**
 * What the hostile programs of the Deno-off suite try to reach, counted: a secret file outside
 * every ring's trees, loopback TCP and UDP listeners, a sibling process.
 */
import dgram from "node:dgram";

export type Targets = Awaited<ReturnType<typeof targets>>;

/** What the hostile agent may reach if the kernel lets it: counted here. */
export async function targets() {
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "warden-secret-" }));
  const secret = `${dir}/secret.txt`;
  Deno.writeTextFileSync(secret, "TOP-SECRET");
  const { mode, uid } = Deno.statSync(secret);
  const unix = Deno.listen({ transport: "unix", path: `${dir}/host.sock` });
  let unixHits = 0;
  (async () => {
    for await (const c of unix) {
      unixHits++;
      c.close();
    }
  })().catch(() => {});
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let tcpHits = 0;
  (async () => {
    for await (const c of tcp) {
      tcpHits++;
      c.close();
    }
  })().catch(() => {});
  const udp = dgram.createSocket("udp4");
  let udpHits = 0;
  udp.on("message", () => udpHits++);
  await new Promise<void>((r) => udp.bind(0, "127.0.0.1", () => r()));
  const sibling = new Deno.Command("sleep", { args: ["60"] }).spawn();
  return {
    dir,
    secret,
    mode,
    uid,
    args: [
      secret,
      String((tcp.addr as Deno.NetAddr).port),
      String(udp.address().port),
      String(sibling.pid),
      String(Deno.pid),
      dir,
    ],
    hits: () => ({ tcpHits, udpHits, unixHits }),
    siblingAlive: () => {
      try {
        Deno.kill(sibling.pid, "SIGCONT");
        return true;
      } catch {
        return false;
      }
    },
    close: async () => {
      tcp.close();
      udp.close();
      unix.close();
      try {
        sibling.kill("SIGKILL");
      } catch { /* gone */ }
      await sibling.status;
      Deno.removeSync(dir, { recursive: true });
    },
  };
}
