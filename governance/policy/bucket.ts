/**
 * The decision index. Rules are bucketed by action; inside a bucket, rules naming an exact
 * `resource` are keyed by the normalized resource, and the remaining rules are keyed by the
 * value of one `eq`/`in` field their conditions require (the field most rules share, such as
 * `url.host`). Every list is sorted by rule id, so the first match in a list is its smallest.
 */
import type { ResourceKind } from "./actions.ts";
import { type CondNode, scalarKey, UNKNOWN_KEY } from "./conditions.ts";
import { type EvalContext, T, type Tri, U } from "./context.ts";
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
export type Lists<R> = Record<EffectKey, R[]>;

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

export function emptyLists<R>(): Lists<R> {
  return { deny: [], approval: [], allow: [] };
}

/** `eq`/`in` leaves every match of `node` requires, by field name. */
function requiredKeys(node: CondNode | null, out = new Map<string, CondNode["index"]>()) {
  if (!node) return out;
  if (node.index) out.set(node.index.field.name, node.index);
  else if (node.text === "all") { for (const c of node.children ?? []) requiredKeys(c, out); }
  return out;
}

function fieldIndex<R extends IndexedRule>(
  generic: R[],
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
    const leaf = requiredKeys(r.match).get(best);
    if (!leaf) {
      rest.push(r);
      continue;
    }
    index.field = leaf.field;
    const k = EFFECT_KEY[r.effect];
    index.all[k].push(r);
    for (const key of leaf.keys) {
      let l = index.map.get(key);
      if (!l) index.map.set(key, l = emptyLists());
      l[k].push(r);
    }
  }
  return { index, rest };
}

/** Build one bucket per action from rules already sorted by id. */
export function buildBuckets<R extends IndexedRule>(
  rules: readonly R[],
  vocabulary: readonly string[],
  kinds: Readonly<Record<string, ResourceKind>>,
  normalizeResource: (kind: ResourceKind, value: string) => string | null,
): { buckets: Map<string, Bucket<R>>; fallback: Bucket<R> } {
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
        l[key].push(r);
      }
      b.keyedAll[key].push(r);
    }
  }
  const finish = (b: Bucket<R>, list: R[]) => {
    const { index, rest } = fieldIndex(list);
    b.field = index;
    for (const r of rest) b.plain[EFFECT_KEY[r.effect]].push(r);
  };
  for (const [a, list] of generic) finish(buckets.get(a)!, list);
  const fallback: Bucket<R> = {
    plain: emptyLists(),
    keyed: new Map(),
    keyedAll: emptyLists(),
    field: null,
  };
  finish(fallback, fallbackGeneric);
  return { buckets, fallback };
}

/** The winning rule of one effect: its rule, truth value and (when unknown) why. */
export interface Pick<R> {
  rule: R;
  tri: Tri;
  why: string;
}

/** The lists of a bucket that apply to this request, computed once per evaluation. */
export class Selection<R extends IndexedRule> {
  readonly plain: Lists<R>;
  readonly keyed: Lists<R> | undefined;
  readonly keyedUnknown: boolean;
  readonly field: Lists<R> | undefined;
  readonly fieldUnknown: boolean;

  constructor(b: Bucket<R>, ctx: EvalContext) {
    this.plain = b.plain;
    let keyed: Lists<R> | undefined;
    let keyedUnknown = false;
    if (b.keyed.size > 0) {
      const r = ctx.resource();
      if (r === null) {
        keyedUnknown = true;
        keyed = b.keyedAll;
      } else keyed = b.keyed.get(r);
    }
    this.keyed = keyed;
    this.keyedUnknown = keyedUnknown;
    let field: Lists<R> | undefined;
    let fieldUnknown = false;
    if (b.field) {
      const k = scalarKey(b.field.field, ctx);
      if (k === UNKNOWN_KEY) {
        fieldUnknown = true;
        field = b.field.all;
      } else field = b.field.map.get(k);
    }
    this.field = field;
    this.fieldUnknown = fieldUnknown;
  }

  /** Smallest-id rule of `eff` that fires: true, or unknown for deny and approval. */
  pick(eff: EffectKey, ctx: EvalContext): Pick<R> | null {
    const strict = eff === "allow";
    let best = scan(this.plain[eff], ctx, strict, null);
    if (this.field && !(strict && this.fieldUnknown)) {
      best = scan(this.field[eff], ctx, strict, best);
    }
    if (this.keyed && !(strict && this.keyedUnknown)) {
      const k = scan(this.keyed[eff], ctx, strict, best);
      if (k !== best && k && this.keyedUnknown) {
        return { rule: k.rule, tri: U, why: "resource could not be normalized" };
      }
      best = k;
    }
    return best;
  }
}

/** First rule of `list` (sorted by id, below `best`) whose match fires. */
function scan<R extends IndexedRule>(
  list: R[],
  ctx: EvalContext,
  strict: boolean,
  best: Pick<R> | null,
): Pick<R> | null {
  for (let i = 0; i < list.length; i++) {
    const r = list[i];
    if (best && r.id >= best.rule.id) return best;
    if (r.match === null) return { rule: r, tri: T, why: "" };
    ctx.why = "";
    const t = r.match.eval(ctx);
    if (t === T || (t === U && !strict)) return { rule: r, tri: t, why: ctx.why };
  }
  return best;
}
