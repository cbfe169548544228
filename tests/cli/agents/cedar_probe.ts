// Asks for two environment variables; a Cedar policy allows one and forbids the other.
import { env } from "../../../sdk/mod.ts";

for (const name of ["CEDAR_OK", "HOME"]) {
  try {
    console.log(`${name}=${await env.get(name)}`);
  } catch (e) {
    console.log(`${name} denied: ${(e as Error).message}`);
  }
}
