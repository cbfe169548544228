/**
 * The SDK gateway's request parse: `SdkRequest.safeParse` (zod, the source of truth), with the
 * one frame shape of the per-call hot path — `tool.call` and `tool.authorize`, `{id, op, name,
 * args?}` — checked by hand first (zod's discriminated union cost ~4 % of the host's time per
 * round trip). Anything the hand check does not accept goes to zod unchanged, so errors and
 * every other op are zod's; `tests/perf/sdk_request_test.ts` checks that whatever the hand
 * check accepts, zod accepts with an equal result.
 */
import { SdkRequest } from "../../sdk/wire_schema.ts";

type Parsed = ReturnType<typeof SdkRequest.safeParse>;

const HOT: ReadonlySet<unknown> = new Set(["tool.call", "tool.authorize"]);

/** A plain (JSON) object: `{}`'s prototype, no own `__proto__` key. */
function plain(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype &&
    !Object.hasOwn(v, "__proto__");
}

/** The hot shape's parse result, or null: not that shape (zod decides). */
export function hotRequestOf(value: unknown): SdkRequest | null {
  if (!plain(value)) return null;
  const { id, op, name, args } = value;
  if (!HOT.has(op)) return null;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) return null;
  if (typeof name !== "string" || name.length < 1 || name.length > 256) return null;
  let keys = 3;
  let out: Record<string, unknown>;
  if (Object.hasOwn(value, "args")) {
    // zod's record refuses symbol keys (JSON has none; the check keeps the two equal anyway).
    if (!plain(args) || Object.getOwnPropertySymbols(args).length > 0) return null;
    keys = 4;
    out = args;
  } else out = {};
  if (Object.keys(value).length !== keys) return null; // a strict object: nothing else
  return { id, op, name, args: out } as SdkRequest;
}

/** `SdkRequest.safeParse(value)`, the hot shape checked by hand first. */
export function parseSdkRequest(value: unknown): Parsed {
  const hot = hotRequestOf(value);
  return hot ? { success: true, data: hot } as Parsed : SdkRequest.safeParse(value);
}
