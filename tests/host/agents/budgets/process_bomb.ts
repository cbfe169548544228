/** A process bomb (rings that may run programs): a shell starting 100 sleeping children. */
const child = new Deno.Command("/bin/sh", {
  args: ["-c", "for i in $(seq 100); do sleep 30 & done; wait"],
  clearEnv: true,
}).spawn();
await child.status;
