/**
 * Child of driver_guard_test.ts: opens a fleet connection (no query: nothing is reached), then
 * throws from a timer an error whose stack is the postgres.js driver's (as its socket callback
 * does after a lost connection) or, with `other`, one of any other code.
 */
import { connectFleetDb } from "../../runtime/fleet/db.ts";

const db = connectFleetDb("postgres://warden@127.0.0.1:1/postgres");
const driver = Deno.args[0] !== "other";
const e = new TypeError("Cannot read properties of null (reading 'write')");
e.stack = `TypeError: ${e.message}\n    at write (file://${Deno.cwd()}/node_modules/.deno/` +
  (driver ? "postgres@3.4.9/node_modules/postgres/src/connection.js" : "other@1.0.0/x.js") +
  ":1:1)";
setTimeout(() => {
  throw e;
}, 10);
setTimeout(async () => {
  await db.close();
  console.log("SURVIVED");
}, 200);
