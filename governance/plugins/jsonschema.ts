/**
 * Tool argument schemas: a documented subset of JSON Schema, validated with zod, and a converter
 * from that subset to a zod validator the host runs on every tool call.
 *
 * Supported keywords (anything else is rejected when the manifest is parsed):
 * - every schema: `type` (required), `description`, `enum` (for string/number/integer)
 * - `object`: `properties`, `required` (names that must be in `properties`),
 *   `additionalProperties: false` (absent means extra keys are allowed, as in JSON Schema)
 * - `string`: `minLength`, `maxLength`
 * - `number` / `integer`: `minimum`, `maximum` (inclusive)
 * - `array`: `items` (absent means items of any type)
 * - `boolean`: nothing else
 */
import { z } from "zod";

/** A schema in the supported subset. */
export type JsonSchema =
  | {
    type: "object";
    description?: string;
    properties?: Record<string, JsonSchema>;
    required?: string[];
    additionalProperties?: false;
  }
  | {
    type: "string";
    description?: string;
    enum?: string[];
    minLength?: number;
    maxLength?: number;
  }
  | {
    type: "number" | "integer";
    description?: string;
    enum?: number[];
    minimum?: number;
    maximum?: number;
  }
  | { type: "boolean"; description?: string }
  | { type: "array"; description?: string; items?: JsonSchema };

const Count = z.int().nonnegative();
const Description = z.string().optional();

/** The zod schema of the supported JSON Schema subset (strict: unknown keywords are errors). */
export const JsonSchemaSubset: z.ZodType<JsonSchema> = z.lazy(() =>
  z.discriminatedUnion("type", [
    z.strictObject({
      type: z.literal("object"),
      description: Description,
      properties: z.record(z.string().min(1), JsonSchemaSubset).optional(),
      required: z.array(z.string()).optional(),
      additionalProperties: z.literal(false, {
        error: "only additionalProperties: false is supported",
      }).optional(),
    }).superRefine((s, ctx) => {
      for (const [i, k] of (s.required ?? []).entries()) {
        if (!s.properties || !Object.hasOwn(s.properties, k)) {
          ctx.addIssue({
            code: "custom",
            path: ["required", i],
            message: `required property "${k}" is not in properties`,
          });
        }
      }
    }),
    z.strictObject({
      type: z.literal("string"),
      description: Description,
      enum: z.array(z.string()).min(1).optional(),
      minLength: Count.optional(),
      maxLength: Count.optional(),
    }),
    z.strictObject({
      type: z.enum(["number", "integer"]),
      description: Description,
      enum: z.array(z.number()).min(1).optional(),
      minimum: z.number().optional(),
      maximum: z.number().optional(),
    }),
    z.strictObject({ type: z.literal("boolean"), description: Description }),
    z.strictObject({
      type: z.literal("array"),
      description: Description,
      items: JsonSchemaSubset.optional(),
    }),
  ], {
    error: 'expected a schema with type "object", "string", "number", "integer", ' +
      '"boolean" or "array"',
  })
);

/** A zod validator equivalent to a schema of the supported subset. */
export function jsonSchemaToZod(schema: JsonSchema): z.ZodType {
  switch (schema.type) {
    case "object": {
      const required = new Set(schema.required ?? []);
      const shape: Record<string, z.ZodType> = {};
      for (const [k, s] of Object.entries(schema.properties ?? {})) {
        const v = jsonSchemaToZod(s);
        shape[k] = required.has(k) ? v : v.optional();
      }
      return schema.additionalProperties === false ? z.strictObject(shape) : z.looseObject(shape);
    }
    case "string": {
      let s = z.string();
      if (schema.minLength !== undefined) s = s.min(schema.minLength);
      if (schema.maxLength !== undefined) s = s.max(schema.maxLength);
      if (schema.enum) {
        const allowed = schema.enum;
        return s.refine((v) => allowed.includes(v), {
          message: `expected one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}`,
        });
      }
      return s;
    }
    case "number":
    case "integer": {
      let n = schema.type === "integer" ? z.int() : z.number();
      if (schema.minimum !== undefined) n = n.min(schema.minimum);
      if (schema.maximum !== undefined) n = n.max(schema.maximum);
      if (schema.enum) {
        const allowed = schema.enum;
        return n.refine((v) => allowed.includes(v), {
          message: `expected one of ${allowed.join(", ")}`,
        });
      }
      return n;
    }
    case "boolean":
      return z.boolean();
    case "array":
      return z.array(schema.items ? jsonSchemaToZod(schema.items) : z.unknown());
  }
}
