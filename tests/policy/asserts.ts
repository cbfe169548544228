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

export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  if (!re.test(actual)) throw new Error(`${msg ? msg + "\n" : ""}${inspect(actual)} !~ ${re}`);
}

/** Await `fn` and expect it to reject (optionally with an Error whose message includes `has`). */
export async function assertRejects(
  fn: () => Promise<unknown>,
  type?: new (...a: never[]) => Error,
  has?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    if (type && !(e instanceof type)) throw new Error(`expected ${type.name}, got ${inspect(e)}`);
    const m = e instanceof Error ? e.message : String(e);
    if (has !== undefined && !m.includes(has)) {
      throw new Error(`expected the error to include ${inspect(has)}, got ${inspect(m)}`);
    }
    return e as Error;
  }
  throw new Error("expected a rejection, but the promise resolved");
}
