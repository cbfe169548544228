/**
 * Compiled output rules: the `outputs:` sections of a policy set, and the one check every
 * channel runs (`OutputRules.check`): size cap, the schema of the output's kind, then the
 * data-loss scan. Deny wins over redact; the verdict carries the value that may leave.
 * @module
 */
import { RE2JS } from "re2js";
import type { z } from "zod";
import { jsonSchemaToZod } from "../plugins/jsonschema.ts";
import { expandBuiltins } from "./builtins.ts";
import { type Detector, detector, type OutputFinding, rebuild, scanValue } from "./scan.ts";
import {
  DEFAULT_MAX_SCAN,
  OUTPUT_CHANNELS,
  type OutputChannel,
  type OutputsSection,
} from "./schema.ts";

/** The answer for one output. */
export interface OutputVerdict {
  /** allow: unchanged; redact: `value` is the redacted form; deny: nothing leaves. */
  effect: "allow" | "redact" | "deny";
  /** The deciding rule (null: none matched, or the host's own size/depth cap). */
  rule: string | null;
  reason: string;
  findings: OutputFinding[];
  /** What may leave (undefined when denied). */
  value: unknown;
}

interface SchemaCheck {
  id: string;
  on: string;
  kind: string;
  validate: z.ZodType;
}

const ALLOW = (value: unknown): OutputVerdict => ({
  effect: "allow",
  rule: null,
  reason: "no output rule matched",
  findings: [],
  value,
});

/** The output rules of a policy set. */
export class OutputRules {
  readonly maxScan: number;
  readonly #schemas: SchemaCheck[];
  readonly #byChannel = new Map<OutputChannel, Detector[]>();
  /** `except:` of each rule: "host header" -> the rules that leave that header alone there. */
  readonly #except = new Map<string, Set<string>>();
  readonly #skipping = new Map<string, Detector[]>();

  constructor(sections: readonly OutputsSection[] = []) {
    const caps = sections.map((s) => s.max_bytes).filter((n): n is number => n !== undefined);
    this.maxScan = caps.length ? Math.min(...caps) : DEFAULT_MAX_SCAN;
    this.#schemas = sections.flatMap((s) =>
      (s.schemas ?? []).map((r) => ({
        id: r.id,
        on: r.on,
        kind: r.kind,
        validate: jsonSchemaToZod(r.schema),
      }))
    );
    const all: { on?: readonly string[]; d: Detector }[] = [];
    for (const s of sections) {
      for (const r of s.dlp ?? []) {
        for (const e of r.except ?? []) {
          for (const h of [e.header].flat()) {
            const k = `${e.host} ${h}`;
            this.#except.set(k, (this.#except.get(k) ?? new Set()).add(r.id));
          }
        }
        const names = r.builtin === undefined ? [] : [r.builtin].flat();
        for (const b of expandBuiltins(names)) {
          const d = {
            rule: r.id,
            name: b.name,
            effect: r.effect,
            needles: b.needles,
            ci: b.ci,
            window: b.window,
          };
          all.push({ on: r.on, d: detector(d, b.pattern) });
        }
        if (r.pattern !== undefined) {
          const d = { rule: r.id, name: "pattern", effect: r.effect };
          const flags = r.case_insensitive ? RE2JS.CASE_INSENSITIVE : 0;
          all.push({ on: r.on, d: detector(d, r.pattern, flags) });
        }
      }
    }
    for (const ch of OUTPUT_CHANNELS) {
      this.#byChannel.set(ch, all.filter((x) => !x.on || x.on.includes(ch)).map((x) => x.d));
    }
  }

  /** True when no rule applies to `channel` (the check is then a no-op). */
  idle(channel: OutputChannel): boolean {
    return this.#byChannel.get(channel)!.length === 0 &&
      !this.#schemas.some((s) => s.on === channel);
  }

  /**
   * The rules whose `except:` leaves header `name` of a request to `url` alone: only on an
   * `https:` URL whose host is exactly the excepted one (empty otherwise).
   */
  excepted(url: string, name: string): ReadonlySet<string> {
    if (this.#except.size === 0) return NONE;
    let host: string;
    try {
      const u = new URL(url);
      if (u.protocol !== "https:") return NONE;
      host = u.hostname.replace(/^\[|\]$/g, "");
    } catch {
      return NONE;
    }
    return this.#except.get(`${host} ${name.toLowerCase()}`) ?? NONE;
  }

  /**
   * Check one output on `channel`. `kind`: the output's kind for schemas (emit: its string
   * `kind` field, found here when not given; tool and MCP results: the tool's name). `skip`:
   * rules left out (an `except:` that applies, see `excepted`).
   */
  check(
    channel: OutputChannel,
    value: unknown,
    kind?: string,
    skip: ReadonlySet<string> = NONE,
  ): OutputVerdict {
    if (this.idle(channel)) return ALLOW(value);
    const k = kind ?? emitKind(value);
    for (const s of this.#schemas) {
      if (s.on !== channel || (s.kind !== "*" && s.kind !== k)) continue;
      const r = s.validate.safeParse(value);
      if (!r.success) {
        const i = r.error.issues[0];
        const where = i.path.length ? `$.${i.path.join(".")}` : "$";
        return deny(s.id, `output does not match schema "${s.id}" at ${where}: ${i.message}`);
      }
    }
    const detectors = this.#detectors(channel, skip);
    if (detectors.length === 0) return ALLOW(value);
    const scan = scanValue(detectors, value, this.maxScan);
    if (scan.error) return deny(null, `${scan.error}: not scanned (fail closed)`);
    if (scan.denied) {
      const f = scan.denied;
      return {
        ...deny(f.rule, `output denied by rule "${f.rule}": ${f.detector} at ${f.path}`),
        findings: scan.findings,
      };
    }
    if (scan.findings.length === 0) return ALLOW(value);
    const rules = [...new Set(scan.findings.map((f) => f.rule))];
    const detectorsSeen = [...new Set(scan.findings.map((f) => f.detector))];
    return {
      effect: "redact",
      rule: rules[0],
      reason: `redacted ${scan.findings.length} match(es) of rule ${
        rules.map((r) => `"${r}"`).join(", ")
      } (${detectorsSeen.join(", ")})`,
      findings: scan.findings,
      value: rebuild(value, scan.replace),
    };
  }

  /** The channel's detectors without those of `skip` (kept: the scan caches per array). */
  #detectors(channel: OutputChannel, skip: ReadonlySet<string>): Detector[] {
    const all = this.#byChannel.get(channel)!;
    if (skip.size === 0) return all;
    const key = `${channel} ${[...skip].sort().join(" ")}`;
    let ds = this.#skipping.get(key);
    if (!ds) {
      ds = all.filter((d) => !skip.has(d.rule));
      this.#skipping.set(key, ds);
    }
    return ds;
  }
}

const NONE: ReadonlySet<string> = new Set();

function deny(rule: string | null, reason: string): OutputVerdict {
  return { effect: "deny", rule, reason, findings: [], value: undefined };
}

function emitKind(value: unknown): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const k = (value as Record<string, unknown>).kind;
  return typeof k === "string" ? k : undefined;
}

/** No output rules (what a policy without an `outputs:` section has). */
export const NO_OUTPUT_RULES: OutputRules = new OutputRules();
