/** Case 20: open a second connection to the agent's own SDK and broker sockets. */
import { attempt, done } from "./_attempt.ts";

const sdk = Deno.args[0];
const broker = sdk.replace(/s\.sock$/, "b.sock");
console.log(`sockets ${sdk} ${broker}`);
for (const [name, path] of [["sdk", sdk], ["broker", broker]]) {
  await attempt(`connect ${name}`, async () => {
    const c = await Deno.connect({ transport: "unix", path });
    c.close();
    return "connected";
  });
}
await attempt("broker: forge an allow", async () => {
  const c = await Deno.connect({ transport: "unix", path: broker });
  await c.write(
    new TextEncoder().encode('{"v":1,"pid":1,"id":0,"permission":"run","value":null}\n'),
  );
  c.close();
  return "sent";
});
done();
