/** Minimal assertions (JSR's @std/assert is unreachable here). */
import { inspect, isDeepStrictEqual } from "node:util";

export function assertEquals(actual: unknown, expected: unknown, msg?: string): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Error(
      `${msg ? msg + "\n" : ""}expected: ${inspect(expected, { depth: 8 })}\nactual:   ${
        inspect(actual, { depth: 8 })
      }`,
    );
  }
}
