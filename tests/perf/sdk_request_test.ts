// The gateway's hand check of the hot request shape (tool.call / tool.authorize) against
// SdkRequest's zod schema: whatever it accepts, zod accepts with an equal result; and
// parseSdkRequest answers exactly as SdkRequest.safeParse on arbitrary frames.
import fc from "fast-check";
import { assert, assertEquals } from "../policy/asserts.ts";
import { SdkRequest } from "../../sdk/wire_schema.ts";
import { hotRequestOf, parseSdkRequest } from "../../runtime/gateway/parse_request.ts";

const field = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 1.5, 2 ** 53, 2 ** 53 - 1, NaN, Infinity, null, true, ""),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 300 }),
  fc.constantFrom("tool.call", "tool.authorize", "fs.readText", "emit", "TOOL.CALL"),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.constant(undefined),
);
const key = fc.constantFrom("a", "", "__proto__", "constructor", "toString", "1", "id", "op");
const args = fc.oneof(
  fc.dictionary(key, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  fc.jsonValue({ maxDepth: 2 }),
  field,
  fc.constant(Object.create(null)),
  fc.constant(JSON.parse('{"__proto__":{"x":1}}')),
  fc.constant({ [Symbol("s")]: 1 }),
  fc.constant(Object.defineProperty({}, "hidden", { value: 1, enumerable: false })),
);
const frame = fc.record(
  {
    id: fc.oneof(fc.nat(), fc.maxSafeNat(), field),
    op: fc.oneof(fc.constantFrom("tool.call", "tool.authorize"), field),
    name: fc.oneof(fc.string({ minLength: 1, maxLength: 258 }), field),
    args,
    extra: field,
  },
  { requiredKeys: [] },
);
/** As the wire delivers it: through JSON (own __proto__ keys survive JSON.parse). */
const wire = frame.map((f) => {
  try {
    return JSON.parse(JSON.stringify(f) ?? "null");
  } catch {
    return null;
  }
});
/** Nearly valid hot frames: the hostile part is in the arguments (or one stray key). */
const hotish = fc.record(
  {
    id: fc.maxSafeNat(),
    op: fc.constantFrom("tool.call", "tool.authorize"),
    name: fc.oneof(
      fc.string({ minLength: 1, maxLength: 256 }),
      fc.constantFrom("", "x".repeat(256), "x".repeat(257), "\u{1F600}".repeat(128)),
    ),
    args,
    extra: field,
  },
  { requiredKeys: ["id", "op", "name"] },
);
const candidate = fc.oneof(
  frame,
  wire,
  field,
  args,
  hotish,
  hotish.map((f) => JSON.parse(JSON.stringify(f))),
);

Deno.test("sdk request: the hot shape's hand check only accepts what zod accepts, equally", () => {
  let hot = 0;
  fc.assert(
    fc.property(candidate, (v) => {
      const z = SdkRequest.safeParse(v);
      const h = hotRequestOf(v);
      if (h !== null) {
        hot++;
        assert(z.success, `zod refuses what the hand check accepted: ${Deno.inspect(v)}`);
        assertEquals(h, z.data);
        assertEquals(Object.keys(h), Object.keys(z.data));
      }
      const p = parseSdkRequest(v);
      assertEquals(p.success, z.success);
      if (p.success && z.success) assertEquals(p.data, z.data);
      else if (!p.success && !z.success) assertEquals(p.error.issues, z.error.issues);
    }),
    { numRuns: 30000 },
  );
  assert(hot > 500, `the hot path was taken only ${hot} times`);
});

Deno.test("sdk request: every valid tool.call and tool.authorize frame (but a __proto__ key) takes the hot path", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("tool.call", "tool.authorize"),
      fc.maxSafeNat(),
      fc.string({ minLength: 1, maxLength: 256 }),
      fc.option(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 })), { nil: undefined }),
      (op, id, name, a) => {
        const v = JSON.parse(
          JSON.stringify(a === undefined ? { id, op, name } : { id, op, name, args: a }),
        );
        if (!SdkRequest.safeParse(v).success) return; // e.g. a name of 257 UTF-16 units
        if (v.args && Object.hasOwn(v.args, "__proto__")) return; // left to zod on purpose
        assert(hotRequestOf(v) !== null, `not on the hot path: ${JSON.stringify(v)}`);
      },
    ),
    { numRuns: 5000 },
  );
});
