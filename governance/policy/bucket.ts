/**
 * The decision index. Rules are bucketed by action; inside a bucket, rules naming an exact
 * `resource` are keyed by the normalized resource, and the remaining rules are keyed by the
 * value of one `eq`/`in` field their conditions require (the field most rules share, such as
 * `url.host`). Every list is sorted by rule id, so the first match in a list is its smallest.
 *
 * Lists hold entries, not rules: every entry has one shape (`rank`, `test`, `rule`), whatever
 * the rule or its policy, so the decision loop's property reads stay monomorphic however many
 * rules there are, and a rule reached through its key carries its remaining condition in its
 * own entry (no per-rule derived objects, whose distinct prototypes would each get a hidden
 * class and turn those reads megamorphic as the rule count grows).
 */
import type { ResourceKind } from "./actions.ts";
import { allOf, type CondNode, scalarKey, UNKNOWN_KEY } from "./conditions.ts";
import { type EvalContext, T, U } from "./context.ts";
import type { Field } from "./fields.ts";
import type { Effect } from "./schema.ts";

/** The parts of a compiled rule the index needs. */
export interface IndexedRule {
  readonly id: string;
  readonly effect: Effect;
  readonly resources: readonly string[] | null;
  readonly actions: readonly string[];
  readonly match: CondNode | null;
}

export type EffectKey = "deny" | "approval" | "allow";

/**
 * One rule as a list holds it: its rank (position in the rule order, by effect then id, so
 * within one effect a smaller rank is a smaller id), what is left to test of its condition
 * once the list's key matched (null: nothing, the rule fires), and the rule itself.
 */
export interface Entry<R> {
  readonly rank: number;
  readonly test: CondNode["eval"] | null;
  readonly rule: R;
}

/** The one constructor of entries (one literal: one hidden class). */
function entry<R>(rank: number, match: CondNode | null, rule: R): Entry<R> {
  return { rank, test: match === null ? null : match.eval, rule };
}

/** Rules by effect; an effect with no rules has no array (keeps large indexes small). */
export type Lists<R> = Partial<Record<EffectKey, Entry<R>[]>>;

interface FieldIndex<R> {
  field: Field;
  map: Map<unknown, Lists<R>>;
  /** Every indexed rule: deny/approval rules apply when the field's value is unknown. */
  all: Lists<R>;
}

/** The rules that can apply to one action. */
export interface Bucket<R> {
  plain: Lists<R>;
  keyed: Map<string, Lists<R>>;
  keyedAll: Lists<R>;
  field: FieldIndex<R> | null;
}

export const EFFECT_KEY: Record<Effect, EffectKey> = {
  deny: "deny",
  require_approval: "approval",
  allow: "allow",
};

/**
 * Lists with all three keys present (undefined when empty): every Lists object has one shape,
 * so the decision loop's property reads stay monomorphic.
 */
export function emptyLists<R>(): Lists<R> {
  return { deny: undefined, approval: undefined, allow: undefined };
}

/** The list of effect `e` (0 deny, 1 require_approval, 2 allow), by named reads. */
function listOf<R>(l: Lists<R>, e: number): Entry<R>[] | undefined {
  return e === 0 ? l.deny : e === 1 ? l.approval : l.allow;
}

/** Append `r` to the `eff` list of `l`. */
export function addTo<R>(l: Lists<R>, eff: EffectKey, r: Entry<R>): void {
  (l[eff] ??= []).push(r);
}

/** `eq`/`in` leaves every match of `node` requires, by field name. */
function requiredKeys(node: CondNode | null, out = new Map<string, CondNode>()) {
  if (!node) return out;
  if (node.index) out.set(node.index.field.name, node);
  else if (node.text === "all") { for (const c of node.children ?? []) requiredKeys(c, out); }
  return out;
}

function fieldIndex<R extends IndexedRule>(
  generic: R[],
  base: (r: R) => Entry<R>,
): { index: FieldIndex<R> | null; rest: R[] } {
  const counts = new Map<string, number>();
  for (const r of generic) {
    for (const name of requiredKeys(r.match).keys()) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  let best: string | null = null;
  for (const [name, n] of counts) {
    if (
      n >= 2 && (best === null || n > counts.get(best)! || (n === counts.get(best) && name < best))
    ) {
      best = name;
    }
  }
  if (best === null) return { index: null, rest: generic };
  const rest: R[] = [];
  const index: FieldIndex<R> = {
    field: null as unknown as Field,
    map: new Map(),
    all: emptyLists(),
  };
  for (const r of generic) {
    const node = requiredKeys(r.match).get(best);
    if (!node) {
      rest.push(r);
      continue;
    }
    const leaf = node.index!;
    index.field = leaf.field;
    const k = EFFECT_KEY[r.effect];
    const whole = base(r);
    addTo(index.all, k, whole);
    const known = knownTrue(whole, node);
    for (const key of leaf.keys) {
      let l = index.map.get(key);
      if (!l) index.map.set(key, l = emptyLists());
      addTo(l, k, known);
    }
  }
  return { index, rest };
}

/**
 * The entry of `whole.rule` as its field-index lists hold it: a rule reached through the key of
 * its `eq`/`in` leaf has that leaf true (the lookup read the field as the leaf does, and the key
 * is one of its values), so it is tested with the leaf dropped from the `all` nodes that
 * require it. The whole entry otherwise (a NaN value, which `eq` never equals but a Map key
 * does).
 */
function knownTrue<R extends IndexedRule>(whole: Entry<R>, leaf: CondNode): Entry<R> {
  for (const k of leaf.index!.keys) if (typeof k === "number" && Number.isNaN(k)) return whole;
  const match = whole.rule.match;
  if (!match) return whole;
  const rest = drop(match, leaf);
  return rest === match ? whole : entry(whole.rank, rest, whole.rule);
}

/** `node` with `leaf` taken as true: removed from the `all` nodes above it (null: true). */
function drop(node: CondNode, leaf: CondNode): CondNode | null {
  if (node === leaf) return null;
  if (node.text !== "all" || !node.children) return node;
  const kids: CondNode[] = [];
  let changed = false;
  for (const c of node.children) {
    const d = drop(c, leaf);
    if (d !== c) changed = true;
    if (d !== null) kids.push(d);
  }
  if (!changed) return node;
  if (kids.length <= 1) return kids[0] ?? null;
  return { text: "all", eval: allOf(kids), children: kids };
}

/** Build one bucket per action from rules already sorted by effect, then id. */
export function buildBuckets<R extends IndexedRule>(
  rules: readonly R[],
  vocabulary: readonly string[],
  kinds: Readonly<Record<string, ResourceKind>>,
  normalizeResource: (kind: ResourceKind, value: string) => string | null,
): { buckets: Map<string, Bucket<R>>; fallback: Bucket<R> } {
  // One whole entry per rule, shared by every list that holds the rule with its full condition.
  const entries = new Map<R, Entry<R>>();
  rules.forEach((r, i) => entries.set(r, entry(i, r.match, r)));
  const base = (r: R) => entries.get(r)!;
  const generic = new Map<string, R[]>(vocabulary.map((a) => [a, []]));
  const buckets = new Map<string, Bucket<R>>();
  for (const a of vocabulary) {
    buckets.set(a, { plain: emptyLists(), keyed: new Map(), keyedAll: emptyLists(), field: null });
  }
  const fallbackGeneric: R[] = [];
  for (const r of rules) {
    const key = EFFECT_KEY[r.effect];
    if (r.actions.includes("*") && !r.resources) fallbackGeneric.push(r);
    for (const a of r.actions) {
      const b = buckets.get(a);
      if (!b) continue;
      if (!r.resources) {
        generic.get(a)!.push(r);
        continue;
      }
      for (const res of new Set(r.resources.map((x) => normalizeResource(kinds[a], x) as string))) {
        let l = b.keyed.get(res);
        if (!l) b.keyed.set(res, l = emptyLists());
        addTo(l, key, base(r));
      }
      addTo(b.keyedAll, key, base(r));
    }
  }
  const finish = (b: Bucket<R>, list: R[]) => {
    const { index, rest } = fieldIndex(list, base);
    b.field = index;
    for (const r of rest) addTo(b.plain, EFFECT_KEY[r.effect], base(r));
  };
  for (const [a, list] of generic) finish(buckets.get(a)!, list);
  const fallback: Bucket<R> = {
    plain: emptyLists(),
    keyed: new Map(),
    keyedAll: emptyLists(),
    field: null,
  };
  finish(fallback, fallbackGeneric);
  for (const b of [...buckets.values(), fallback]) compact(b);
  return { buckets, fallback };
}

/**
 * Re-allocate every list at its exact length, each Lists object with its arrays: grown by
 * push, a one-rule list keeps spare capacity in a backing store apart from its array, and at
 * 10,000 rules the decisions' working set is what costs (the same lookups over a few hundred
 * rules run as fast as at 1,000).
 */
function compact<R>(b: Bucket<R>): void {
  const tight = (l: Lists<R>): Lists<R> => ({
    deny: l.deny?.slice(),
    approval: l.approval?.slice(),
    allow: l.allow?.slice(),
  });
  b.plain = tight(b.plain);
  b.keyedAll = tight(b.keyedAll);
  for (const [k, l] of b.keyed) b.keyed.set(k, tight(l));
  if (b.field) {
    b.field.all = tight(b.field.all);
    for (const [k, l] of b.field.map) b.field.map.set(k, tight(l));
  }
}

/**
 * Decide within a bucket: the smallest-id deny rule that fires (true or unknown), else the
 * smallest-id require_approval rule, else the smallest-id allow rule that is true. Returns
 * null when none fires; the winner's truth value and reason are left in `ctx.tri`/`ctx.why`.
 * Allocation-free: the lists that apply are chosen once, then scanned in place.
 */
export function decideInBucket<R extends IndexedRule>(b: Bucket<R>, ctx: EvalContext): R | null {
  let keyed: Lists<R> | undefined;
  let keyedUnknown = false;
  if (b.keyed.size > 0) {
    const r = ctx.resource();
    if (r === null) {
      keyedUnknown = true;
      keyed = b.keyedAll;
    } else keyed = b.keyed.get(r);
  }
  let field: Lists<R> | undefined;
  let fieldUnknown = false;
  if (b.field) {
    const k = scalarKey(b.field.field, ctx);
    if (k === UNKNOWN_KEY) {
      fieldUnknown = true;
      field = b.field.all;
    } else field = b.field.map.get(k);
  }
  for (let e = 0; e < 3; e++) {
    const strict = e === 2;
    let best = scan(listOf(b.plain, e), ctx, strict, null);
    let tri = ctx.tri, why = ctx.why;
    if (field && !(strict && fieldUnknown)) {
      const f = scan(listOf(field, e), ctx, strict, best);
      if (f !== best) {
        best = f;
        tri = ctx.tri;
        why = ctx.why;
      }
    }
    if (keyed && !(strict && keyedUnknown)) {
      const k = scan(listOf(keyed, e), ctx, strict, best);
      if (k !== best) {
        best = k;
        tri = keyedUnknown ? U : ctx.tri;
        why = keyedUnknown ? "resource could not be normalized" : ctx.why;
      }
    }
    if (best) {
      ctx.tri = tri;
      ctx.why = why;
      return best.rule;
    }
  }
  return null;
}

/** First entry of `list` (sorted by rank, below `best`) whose test fires; sets ctx.tri/why. */
function scan<R>(
  list: Entry<R>[] | undefined,
  ctx: EvalContext,
  strict: boolean,
  best: Entry<R> | null,
): Entry<R> | null {
  if (list === undefined) return best;
  for (let i = 0; i < list.length; i++) {
    const r = list[i];
    if (best !== null && r.rank >= best.rank) return best;
    const test = r.test;
    if (test === null) {
      ctx.tri = T;
      ctx.why = "";
      return r;
    }
    ctx.why = "";
    const t = test(ctx);
    if (t === T || (t === U && !strict)) {
      ctx.tri = t;
      return r;
    }
  }
  return best;
}
