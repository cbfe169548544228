/**
 * The broker's line parser: `BrokerRequest`'s zod schema written out by hand, because it runs
 * once per permission check on the host thread (zod's parse was ~2 % of the host's time per
 * check). `tests/perf/broker_parse_test.ts` checks it equal to the schema on arbitrary input.
 */
import type { BrokerRequest } from "./map.ts";

const PERMISSIONS: ReadonlySet<string> = new Set([
  "read",
  "write",
  "net",
  "env",
  "sys",
  "run",
  "ffi",
  "import",
]);

/** `BrokerRequest.safeParse(value)` as a plain function: the request, or null when invalid. */
export function brokerRequestOf(value: unknown): BrokerRequest | null {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  const o = value as Record<string, unknown>;
  const { v, pid, id, datetime, permission, value: val } = o;
  if (v !== 1) return null;
  if (typeof pid !== "number" || !Number.isSafeInteger(pid)) return null;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) return null;
  if (datetime !== undefined && typeof datetime !== "string") return null;
  if (typeof permission !== "string" || !PERMISSIONS.has(permission)) return null;
  if (val !== null && typeof val !== "string") return null;
  // The schema's key order (the parse's output is compared whole in the test).
  const out = { v: 1, pid, id } as BrokerRequest;
  if (Object.hasOwn(o, "datetime")) out.datetime = datetime as string | undefined;
  out.permission = permission as BrokerRequest["permission"];
  out.value = val;
  return out;
}

/** Parse one broker line (JSON): the request, or null when it is not a valid check. */
export function parseBrokerLine(line: string): BrokerRequest | null {
  try {
    return brokerRequestOf(JSON.parse(line));
  } catch {
    return null;
  }
}
