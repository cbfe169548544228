// The broker's hand-written line parser against BrokerRequest's zod schema, on arbitrary input.
import { assertEquals } from "../policy/asserts.ts";
import fc from "fast-check";
import { BrokerRequest } from "../../runtime/broker/map.ts";
import { brokerRequestOf, parseBrokerLine } from "../../runtime/broker/parse.ts";

const zodOf = (v: unknown) => {
  const r = BrokerRequest.safeParse(v);
  return r.success ? r.data : null;
};

const field = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 2, 1.5, 2 ** 53, -(2 ** 53), NaN, Infinity, 1e300),
  fc.integer(),
  fc.double(),
  fc.constantFrom("read", "write", "net", "env", "sys", "run", "ffi", "import", "READ", ""),
  fc.string(),
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
);
const candidate = fc.record(
  {
    v: fc.oneof(fc.constant(1), field),
    pid: fc.oneof(fc.integer({ min: 1, max: 1 << 22 }), field),
    id: fc.oneof(fc.nat(), field),
    datetime: fc.oneof(fc.string(), field),
    permission: fc.oneof(
      fc.constantFrom("read", "write", "net", "env", "sys", "run", "ffi", "import"),
      field,
    ),
    value: fc.oneof(fc.string(), fc.constant(null), field),
    extra: field,
  },
  { requiredKeys: [] },
);

Deno.test("broker parse: the hand parser accepts and returns exactly what the zod schema does", () => {
  fc.assert(
    fc.property(fc.oneof(candidate, field), (v) => {
      assertEquals(brokerRequestOf(v), zodOf(v));
    }),
    { numRuns: 20000 },
  );
});

Deno.test("broker parse: lines as JSON (malformed, arrays, prototype keys) agree too", () => {
  const lines = [
    "",
    "{",
    "null",
    "[]",
    '"x"',
    '{"v":1,"pid":5,"id":0,"permission":"read","value":"/a"}',
    '{"v":1,"pid":5,"id":-0,"permission":"read","value":null,"datetime":"t"}',
    '{"v":1,"pid":5,"id":0,"permission":"read","value":"/a","__proto__":{"v":2}}',
    '{"v":1,"pid":5,"id":0,"permission":"toString","value":"/a"}',
    '{"v":1,"pid":5,"id":0,"permission":"read"}',
    '{"v":1,"pid":5.5,"id":0,"permission":"read","value":"/a"}',
    '{"v":1,"pid":5,"id":1e3,"permission":"net","value":"h:1","datetime":null}',
  ];
  for (const l of lines) {
    let z: unknown = null;
    try {
      z = zodOf(JSON.parse(l));
    } catch { /* null */ }
    assertEquals(parseBrokerLine(l), z, l);
  }
  fc.assert(
    fc.property(candidate, (v) => {
      const l = JSON.stringify(v);
      assertEquals(parseBrokerLine(l), zodOf(JSON.parse(l)));
    }),
    { numRuns: 5000 },
  );
});
