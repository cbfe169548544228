/**
 * The plugin manifest (`plugin.json`): its zod schema, the unsigned template that authors
 * write, and one-line, position-free error messages naming the offending field.
 */
import { z } from "zod";
import { publicKeyFromDid } from "../identity/did.ts";
import { RingCeiling } from "../rings/ceiling.ts";
import { PluginError } from "./errors.ts";
import { JsonSchemaSubset } from "./jsonschema.ts";
import { SEMVER_RE } from "./semver.ts";

/** The host's version; a plugin whose `minHostVersion` is higher is refused. */
export const HOST_VERSION = "0.1.0";

/** The manifest's file name inside a plugin folder. */
export const MANIFEST_FILE = "plugin.json";
/** The signature's file name inside a plugin folder. */
export const SIGNATURE_FILE = "plugin.sig";

/** `a-z`, `0-9` and `-`, starting with a letter or digit, at most 64 characters. */
export const PLUGIN_NAME_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;

const Semver = z.string().regex(SEMVER_RE, {
  error: 'expected a semver version x.y.z such as "1.2.0"',
});

const Did = z.string().refine((s) => {
  try {
    publicKeyFromDid(s);
    return true;
  } catch {
    return false;
  }
}, { error: "expected an Ed25519 did:key (did:key:z6Mk…)" });

/**
 * A relative path inside the plugin folder: "/"-separated, no empty, "." or ".." segments, no
 * leading "/", no backslashes or control characters.
 */
export function isPluginPath(p: string): boolean {
  if (p.length === 0 || p.length > 1024 || p.startsWith("/") || p.includes("\\")) return false;
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(p)) return false;
  return p.split("/").every((s) => s !== "" && s !== "." && s !== "..");
}

const RelPath = z.string().refine(isPluginPath, {
  error: 'expected a relative path inside the plugin folder (no "..", no leading "/")',
});

/** Declared capabilities: a partial ring ceiling (`{ net: ["api.example.com:443"] }`). */
export const Capabilities = RingCeiling.partial();
export type Capabilities = z.infer<typeof Capabilities>;

/** One tool the plugin provides. */
export const ToolSpec = z.strictObject({
  description: z.string(),
  /** JSON Schema (supported subset) of the tool's arguments; must be `type: "object"`. */
  args: JsonSchemaSubset.refine((s) => s.type === "object", {
    error: 'tool arguments must be a schema of type "object"',
  }),
});
export type ToolSpec = z.infer<typeof ToolSpec>;

const TOOL_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const Files = z.record(
  RelPath.refine((p) => p !== MANIFEST_FILE && p !== SIGNATURE_FILE, {
    error: `${MANIFEST_FILE} and ${SIGNATURE_FILE} are not listed in files`,
  }),
  z.string().regex(/^[0-9a-f]{64}$/, { error: "expected a lowercase hex sha-256" }),
);

const fields = {
  name: z.string().regex(PLUGIN_NAME_RE, {
    error: "expected lowercase letters, digits and '-' (at most 64)",
  }),
  version: Semver,
  description: z.string(),
  author: z.string(),
  /** The publisher's did:key; the signature must be by this key. */
  publisher: Did,
  /** The entry module, relative to the plugin folder. */
  entry: RelPath,
  capabilities: Capabilities,
  tools: z.record(
    z.string().regex(TOOL_NAME_RE, { error: "expected a tool name like forecast or get_weather" }),
    ToolSpec,
  ),
  minHostVersion: Semver,
  /** sha-256 (hex) of every file in the folder except plugin.json and plugin.sig. */
  files: Files,
};

/** A signed plugin's manifest (every field required). */
export const PluginManifest = z.strictObject(fields).superRefine((m, ctx) => {
  if (!Object.hasOwn(m.files, m.entry)) {
    ctx.addIssue({
      code: "custom",
      path: ["entry"],
      message: `entry "${m.entry}" is not among the signed files`,
    });
  }
});
export type PluginManifest = z.infer<typeof PluginManifest>;

/** What an author writes before signing: `publisher` and `files` may be absent. */
export const ManifestTemplate = z.strictObject({
  ...fields,
  publisher: Did.optional(),
  files: Files.optional(),
});
export type ManifestTemplate = z.infer<typeof ManifestTemplate>;

function renderPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** The first problem of a zod error as "field: message" (no line or column). */
export function describeIssue(error: z.ZodError, input?: unknown): string {
  const issue = error.issues[0];
  const where = renderPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    return `unknown field${issue.keys.length > 1 ? "s" : ""} ${
      issue.keys.map((k) => JSON.stringify(where ? `${where}.${k}` : k)).join(", ")
    }`;
  }
  if (
    issue.code === "invalid_type" && issue.path.length > 0 &&
    valueAt(input, issue.path) === undefined
  ) {
    return `missing required field "${where}"`;
  }
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : "";
  return `${where ? `${where}: ` : ""}${issue.message}${more}`;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function parseWith<T>(schema: z.ZodType<T>, text: string, label: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new PluginError(
      "invalid-manifest",
      label,
      `${MANIFEST_FILE} is not JSON: ${(e as Error).message}`,
    );
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const name = nameOf(raw) ?? label;
    throw new PluginError(
      "invalid-manifest",
      name,
      `invalid ${MANIFEST_FILE}: ${describeIssue(r.error, raw)}`,
    );
  }
  return r.data;
}

/** The manifest's `name` if it is a valid plugin name, else null (for error messages). */
export function nameOf(raw: unknown): string | null {
  if (raw && typeof raw === "object" && "name" in raw) {
    const n = (raw as { name: unknown }).name;
    if (typeof n === "string" && PLUGIN_NAME_RE.test(n)) return n;
  }
  return null;
}

/** Parse a signed manifest; throws `PluginError("invalid-manifest")` naming the field. */
export function parseManifest(text: string, label = MANIFEST_FILE): PluginManifest {
  return parseWith(PluginManifest, text, label);
}

/** Parse an unsigned template (publisher and files optional). */
export function parseTemplate(text: string, label = MANIFEST_FILE): ManifestTemplate {
  return parseWith(ManifestTemplate, text, label);
}
