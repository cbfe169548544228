/** Strict semantic versions `x.y.z` (no pre-release or build parts), compared numerically. */

/** `x.y.z` with no leading zeros. */
export const SEMVER_RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/** The three numeric parts of a version; throws on anything else. */
export function parseSemver(version: string): [bigint, bigint, bigint] {
  const m = SEMVER_RE.exec(version);
  if (!m) throw new Error(`not a semver x.y.z version: ${JSON.stringify(version)}`);
  return [BigInt(m[1]), BigInt(m[2]), BigInt(m[3])];
}

/** -1, 0 or 1 as `a` is lower than, equal to or higher than `b` (so `1.10.0` > `1.9.0`). */
export function compareSemver(a: string, b: string): -1 | 0 | 1 {
  const pa = parseSemver(a);
  const pb = parseSemver(b);
  for (let i = 0; i < 3; i++) {
    if (pa[i] < pb[i]) return -1;
    if (pa[i] > pb[i]) return 1;
  }
  return 0;
}
