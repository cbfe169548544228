/** A tight loop of refused reads: every one is a broker check, a denial and an audit entry. */
let refused = 0;
const until = Date.now() + 5000;
while (Date.now() < until) {
  try {
    Deno.readTextFileSync("/etc/hostname");
  } catch {
    refused++;
  }
}
console.log(`BUDGET-ESCAPED after ${refused} refusals`);
