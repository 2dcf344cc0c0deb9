// @ts-check
// The arithmetic behind every figure with a spread and every verdict: the central value of a
// figure over repeated runs (the median of the runs' values), its spread (min–max over the
// runs), whether two spreads overlap, the margin between two figures, and the seeded shuffle
// that orders the runs. Pure: no I/O, tested in test/unit/report-stats.test.ts.

/** How every figure with a spread is summarised, in words (the report and README quote it). */
export const METHOD =
  'each figure is the median of the repeated runs\u2019 values, with the spread min\u2013max over those runs; ' +
  'a winner is declared only when its spread does not overlap the runner-up\u2019s (a run whose clock ' +
  'reads whole milliseconds would have its spread widened by 1 ms each way) and it is ahead by at least 5%';

/** Differences smaller than this fraction are not called a win even when the spreads are apart. */
export const NEGLIGIBLE = 0.05;

/**
 * @typedef {object} Spread
 * @property {number} center  median of the values
 * @property {number} min
 * @property {number} max
 * @property {number} n       how many runs gave a value
 * @property {number[]} values the runs' values, in run order
 */

/** The median of a non-empty list (mean of the two middle values for an even count). @param {number[]} values */
export function median(values) {
  if (values.length === 0) throw new Error('median of no values');
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * The central value and spread of one figure over runs; runs that gave no value (null) are left
 * out, and no runs with a value gives null.
 * @param {Array<number | null | undefined>} values @returns {Spread | null}
 */
export function spread(values) {
  const v = /** @type {number[]} */ (values.filter((x) => typeof x === 'number' && Number.isFinite(x)));
  if (v.length === 0) return null;
  return { center: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length, values: v };
}

/** Whether two spreads share any value (touching ends count as overlapping). @param {Spread} a @param {Spread} b */
export function overlaps(a, b) {
  return a.min <= b.max && b.min <= a.max;
}

/**
 * How much better `a` is than `b` on a figure where `better` says which way is good: the ratio
 * of the worse central value to the better one (≥ 1 when a is better; Infinity when the better
 * value is 0 and the worse one is not) and the absolute difference (worse − better for 'lower',
 * better − worse for 'higher'; > 0 when a is better).
 * @param {Spread} a @param {Spread} b @param {'lower' | 'higher'} better
 */
export function margin(a, b, better) {
  return better === 'lower'
    ? { ratio: ratioOf(b.center, a.center), abs: b.center - a.center }
    : { ratio: ratioOf(a.center, b.center), abs: a.center - b.center };
}

/** worse / better for two non-negative figures. @param {number} big @param {number} small */
function ratioOf(big, small) {
  if (small === 0) return big === 0 ? 1 : Infinity;
  return big / small;
}

/** @param {Spread} a @param {Spread} b @param {'lower' | 'higher'} better  true when a's central value is better */
export function isBetter(a, b, better) {
  return better === 'lower' ? a.center < b.center : a.center > b.center;
}

/**
 * A small seedable PRNG (mulberry32): the same seed gives the same run order, so a run order
 * can be reproduced with --seed. Returns floats in [0, 1).
 * @param {number} seed
 */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle of a copy. @template T @param {T[]} items @param {() => number} random @returns {T[]} */
export function shuffle(items, random) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * The run order: `repeats` rounds, each holding every entry once in its own random order, so
 * every entry is spread over the whole run and drift in the machine favours none of them.
 * @template T @param {T[]} entries @param {number} repeats @param {number} seed
 * @returns {Array<{ entry: T, repeat: number }>}  repeat counts from 1
 */
export function runOrder(entries, repeats, seed) {
  const random = rng(seed);
  const order = [];
  for (let r = 1; r <= repeats; r++) for (const entry of shuffle(entries, random)) order.push({ entry, repeat: r });
  return order;
}
