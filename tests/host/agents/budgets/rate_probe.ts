/** Many allowed permission checks (reads of its own code): each costs a broker round trip. */
const me = new URL(import.meta.url).pathname;
const until = Date.now() + 2000;
let checks = 0;
while (Date.now() < until) {
  Deno.statSync(me);
  checks++;
}
console.log(`checks ${checks}`);
