/**
 * Case 20: open a second connection to the agent's own SDK and broker sockets. The bootstrap
 * no longer shows the socket in `Deno.args`, but the layout is predictable: the test hands the
 * path over, as an attacker who guessed it would have it.
 */
import { attempt, done, params } from "./_attempt.ts";

console.log(`args ${JSON.stringify(Deno.args)}`);
const sdk = params().sdk;
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
