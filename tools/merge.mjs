#!/usr/bin/env node
// @ts-check
// Merging the runners of one split run (k6 execution segments, locally or on k6-operator) into
// one result: what k6-operator does not do. Every runner wrote its raw samples (k6 --out json)
// and its own summary export; the merge reads the samples, not the runners' summaries, so
//   counters are summed and their rates recomputed over the run's length (the longest runner),
//   rates (checks, …) are recomputed from the pooled passes and fails,
//   trends are computed from the pooled raw samples (never an average of percentiles), with
//     k6's own percentile rule, so one runner merged alone gives k6's own figures,
//   gauges are the runners' step curves summed (right for vus; the server gauges come from the
//     one runner that runs the monitor),
// and every threshold of the scenario (the expressions the runners' summaries list, submetrics
// included) is evaluated again on the merged result.
//
//   npm run merge -- DIR...      merge runner folders (each with summary.json and points.json.gz),
//                                print the thresholds and write DIR/../merged-summary.json;
//                                exit 99 (k6's code) if a threshold fails on the merged result
import { createReadStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

/** The file each runner streams its samples to, relative to its folder (k6 gzips a .gz name). */
export const POINTS_FILE = 'points.json.gz';

/**
 * @typedef {{ t: number, v: number, tags: Record<string, string> }} Sample
 * @typedef {{ type: string, contains: string, samples: Sample[] }} MetricSamples
 * @typedef {{ summary: any, metrics: Map<string, MetricSamples>, durationMs: number | null }} Runner
 */

/**
 * Reads one runner's raw samples from k6's JSON output (plain or gzipped NDJSON).
 * @param {string} path @returns {Promise<Map<string, MetricSamples>>}
 */
export async function readPoints(path) {
  /** @type {Map<string, MetricSamples>} */
  const metrics = new Map();
  const raw = createReadStream(path);
  const input = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (!line) continue;
    const rec = JSON.parse(line);
    if (rec.type === 'Metric') {
      const m = metrics.get(rec.metric);
      if (m) Object.assign(m, { type: rec.data.type, contains: rec.data.contains });
      else metrics.set(rec.metric, { type: rec.data.type, contains: rec.data.contains, samples: [] });
    } else if (rec.type === 'Point') {
      let m = metrics.get(rec.metric);
      if (!m) metrics.set(rec.metric, (m = { type: 'unknown', contains: 'default', samples: [] }));
      m.samples.push({ t: Date.parse(rec.data.time), v: rec.data.value, tags: rec.data.tags ?? {} });
    }
  }
  return metrics;
}

/**
 * A runner's length in ms from its summary export: k6 gives a counter's rate as count / run
 * length, so any counter with samples tells it.
 * @param {any} summary
 */
export function summaryDurationMs(summary) {
  for (const m of Object.values(summary?.metrics ?? {})) {
    if (typeof m.count === 'number' && typeof m.rate === 'number' && m.count > 0 && m.rate > 0)
      return (1000 * m.count) / m.rate;
  }
  return null;
}

/**
 * One runner's folder: its summary.json and points.json.gz.
 * @param {string} dir @returns {Promise<Runner>}
 */
export async function readRunner(dir) {
  const summaryPath = join(dir, 'summary.json');
  const pointsPath = join(dir, POINTS_FILE);
  if (!existsSync(summaryPath)) throw new Error(`${dir}: no summary.json (did the runner finish?)`);
  if (!existsSync(pointsPath)) throw new Error(`${dir}: no ${POINTS_FILE} (run k6 with --out json=${POINTS_FILE})`);
  const summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
  return { summary, metrics: await readPoints(pointsPath), durationMs: summaryDurationMs(summary) };
}

// ---------------------------------------------------------------------------------------------
// k6's statistics

/**
 * k6's percentile of sorted values: linear interpolation between the closest ranks.
 * @param {number[]} sorted @param {number} q 0..1
 */
export function percentile(sorted, q) {
  if (sorted.length === 0) return 0;
  if (sorted.length === 1) return sorted[0];
  const i = q * (sorted.length - 1);
  const lo = sorted[Math.floor(i)];
  const hi = sorted[Math.ceil(i)];
  return lo + (hi - lo) * (i - Math.floor(i));
}

/**
 * Sums runners' gauge step curves: at every sample time of any runner, each runner's latest value
 * (0 before its first sample). Returns the summed curve as [time ms, value] pairs.
 * @param {Sample[][]} perRunner each runner's samples of one gauge
 * @returns {Array<[number, number]>}
 */
export function sumStepCurves(perRunner) {
  const series = perRunner.map((s) => [...s].sort((a, b) => a.t - b.t));
  const times = [...new Set(series.flatMap((s) => s.map((x) => x.t)))].sort((a, b) => a - b);
  const idx = series.map(() => -1);
  return times.map((t) => {
    let sum = 0;
    series.forEach((s, r) => {
      while (idx[r] + 1 < s.length && s[idx[r] + 1].t <= t) idx[r]++;
      if (idx[r] >= 0) sum += s[idx[r]].v;
    });
    return /** @type {[number, number]} */ ([t, sum]);
  });
}

/** @typedef {{ name: string, tags: Record<string, string> }} MetricKey */

/**
 * Splits a summary key like `rtb_latency{protocol:ws,payload:hi}` into its metric and tag filter.
 * @param {string} key @returns {MetricKey}
 */
export function parseMetricKey(key) {
  const m = /^([^{]+)(?:\{(.*)\})?$/.exec(key.trim());
  if (!m) throw new Error(`bad metric name '${key}'`);
  /** @type {Record<string, string>} */
  const tags = {};
  for (const part of (m[2] ?? '').split(',').filter((p) => p.trim())) {
    const colon = part.indexOf(':');
    if (colon < 1) throw new Error(`bad submetric '${key}': '${part}' is not tag:value`);
    tags[part.slice(0, colon).trim()] = part
      .slice(colon + 1)
      .trim()
      .replace(/^(["'`])(.*)\1$/, '$2');
  }
  return { name: m[1].trim(), tags };
}

/** @param {Sample} s @param {Record<string, string>} tags */
const matches = (s, tags) => Object.entries(tags).every(([k, v]) => s.tags[k] === v);

/**
 * The merged sink of one metric (or submetric): everything a summary or threshold may ask for.
 * @param {string} type counter | gauge | rate | trend
 * @param {Sample[][]} perRunner the matching samples of each runner
 * @param {number} durationMs the run's length
 */
export function sink(type, perRunner, durationMs) {
  const all = perRunner.flat();
  if (type === 'counter') {
    const count = all.reduce((s, x) => s + x.v, 0);
    return { count, rate: durationMs > 0 ? count / (durationMs / 1000) : 0 };
  }
  if (type === 'rate') {
    const passes = all.filter((x) => x.v !== 0).length;
    return { passes, fails: all.length - passes, rate: all.length ? passes / all.length : 0 };
  }
  if (type === 'gauge') {
    const curve = sumStepCurves(perRunner);
    const values = curve.map(([, v]) => v);
    return {
      value: values.at(-1) ?? 0,
      min: values.reduce((a, b) => Math.min(a, b), values[0] ?? 0),
      max: values.reduce((a, b) => Math.max(a, b), values[0] ?? 0),
    };
  }
  const sorted = all.map((x) => x.v).sort((a, b) => a - b);
  const n = sorted.length;
  return {
    count: n,
    avg: n ? sorted.reduce((s, v) => s + v, 0) / n : 0,
    min: n ? sorted[0] : 0,
    max: n ? sorted[n - 1] : 0,
    med: percentile(sorted, 0.5),
    /** @param {number} q 0..1 */
    p: (q) => percentile(sorted, q),
  };
}

// ---------------------------------------------------------------------------------------------
// Thresholds: k6's expression grammar `<aggregation> <operator> <number>`

const OPS = /** @type {const} */ (['<=', '>=', '===', '==', '!=', '<', '>']);
const AGGREGATIONS = {
  counter: ['count', 'rate'],
  gauge: ['value'],
  rate: ['rate'],
  trend: ['avg', 'min', 'max', 'med', 'count', 'p(N)'],
};

/**
 * Parses a threshold expression such as `p(95)<500`, `count == 0`, `rate>=0.99`.
 * @param {string} expr @returns {{ agg: string, q?: number, op: typeof OPS[number], value: number }}
 */
export function parseThreshold(expr) {
  const m =
    /^\s*(count|rate|value|avg|min|max|med|p\(\s*(\d+(?:\.\d+)?)\s*\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/i.exec(
      expr,
    );
  if (!m)
    throw new Error(
      `threshold '${expr}': expected <aggregation> <operator> <number>, e.g. p(95)<500 (aggregations: count, rate, value, avg, min, max, med, p(N))`,
    );
  const pct = m[2] === undefined ? undefined : Number(m[2]);
  if (pct !== undefined && (pct < 0 || pct > 100))
    throw new Error(`threshold '${expr}': percentile ${pct} is outside 0..100`);
  return {
    agg: pct === undefined ? m[1].toLowerCase() : 'p',
    ...(pct === undefined ? {} : { q: pct / 100 }),
    op: /** @type {any} */ (m[3]),
    value: Number(m[4]),
  };
}

/**
 * The aggregation a threshold names, from a merged sink; throws if the metric type has none such.
 * @param {string} type @param {any} s @param {ReturnType<typeof parseThreshold>} t @param {string} expr
 */
function aggregate(type, s, t, expr) {
  const allowed = /** @type {Record<string, string[]>} */ (AGGREGATIONS)[type] ?? [];
  const name = t.agg === 'p' ? 'p(N)' : t.agg;
  if (!allowed.includes(name))
    throw new Error(`threshold '${expr}': a ${type} metric has no '${name}' (it has ${allowed.join(', ')})`);
  return t.agg === 'p' ? s.p(t.q) : s[t.agg];
}

/** @param {number} a @param {string} op @param {number} b */
function compare(a, op, b) {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '==':
    case '===':
      return a === b;
    default:
      return a !== b;
  }
}

/**
 * @typedef {{ metric: string, expr: string, actual: number | null, ok: boolean, error?: string }} ThresholdResult
 */

// ---------------------------------------------------------------------------------------------
// The merge

const TREND_STATS = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count'];

/**
 * Merges runners into one summary in k6's --summary-export shape (so the comparison table reads
 * it as it reads one k6 run) and evaluates every threshold on it.
 * @param {Runner[]} runners
 * @param {{ thresholds?: Record<string, string[]> }} [o] thresholds to judge besides those the
 *   runners' summaries list (runners read from InfluxDB have no summary: `k6 inspect` gives them)
 * @returns {{ summary: any, thresholds: ThresholdResult[], failed: boolean, durationMs: number }}
 */
export function mergeRunners(runners, { thresholds: given } = {}) {
  if (runners.length === 0) throw new Error('nothing to merge: no runners');
  const durations = runners.map((r) => r.durationMs).filter((d) => d !== null);
  const durationMs = durations.length ? Math.max(...durations) : pointsSpanMs(runners);
  /** @type {Map<string, string[]>} key → threshold expressions, in the runners' order */
  const keys = new Map();
  for (const r of runners) {
    for (const [key, m] of Object.entries(r.summary?.metrics ?? {})) {
      const exprs = keys.get(key) ?? [];
      for (const expr of Object.keys(/** @type {any} */ (m).thresholds ?? {}))
        if (!exprs.includes(expr)) exprs.push(expr);
      keys.set(key, exprs);
    }
    if (!r.summary) for (const name of r.metrics.keys()) if (!keys.has(name)) keys.set(name, []);
  }
  for (const [key, exprs] of Object.entries(given ?? {}))
    keys.set(key, [...new Set([...(keys.get(key) ?? []), ...exprs])]);
  /** @type {Record<string, any>} */
  const metrics = {};
  /** @type {ThresholdResult[]} */
  const thresholds = [];
  for (const [key, exprs] of keys) {
    const { name, tags } = parseMetricKey(key);
    const type =
      runners.map((r) => r.metrics.get(name)?.type).find((t) => t && t !== 'unknown') ?? typeFromSummary(runners, key);
    const perRunner = runners.map((r) => (r.metrics.get(name)?.samples ?? []).filter((s) => matches(s, tags)));
    const s = sink(type, perRunner, durationMs);
    metrics[key] = summaryStats(type, s);
    if (exprs.length) metrics[key].thresholds = {};
    for (const expr of exprs) {
      try {
        const t = parseThreshold(expr);
        const actual = aggregate(type, s, t, expr);
        const ok = compare(actual, t.op, t.value);
        thresholds.push({ metric: key, expr, actual, ok });
        metrics[key].thresholds[expr] = !ok; // k6's summary export: true = crossed
      } catch (err) {
        thresholds.push({ metric: key, expr, actual: null, ok: false, error: /** @type {Error} */ (err).message });
        metrics[key].thresholds[expr] = true;
      }
    }
  }
  const summary = {
    root_group: mergeGroups(runners.map((r) => r.summary?.root_group).filter(Boolean)),
    metrics,
    runners: runners.length,
    durationMs,
  };
  return { summary, thresholds, failed: thresholds.some((t) => !t.ok), durationMs };
}

/** @param {Runner[]} runners */
function pointsSpanMs(runners) {
  let [first, last] = [Infinity, -Infinity];
  for (const r of runners)
    for (const m of r.metrics.values())
      for (const s of m.samples) [first, last] = [Math.min(first, s.t), Math.max(last, s.t)];
  return last > first ? last - first : 0;
}

/** A metric's type from the shape of its summary entry (when no runner wrote a sample of it). @param {Runner[]} runners @param {string} key */
function typeFromSummary(runners, key) {
  const m = runners.map((r) => r.summary?.metrics?.[key]).find(Boolean) ?? {};
  if ('passes' in m) return 'rate';
  if ('avg' in m || 'med' in m) return 'trend';
  if ('count' in m) return 'counter';
  return 'gauge';
}

/** @param {string} type @param {any} s */
function summaryStats(type, s) {
  if (type === 'counter') return { count: s.count, rate: s.rate };
  if (type === 'rate') return { passes: s.passes, fails: s.fails, value: s.rate };
  if (type === 'gauge') return { value: s.value, min: s.min, max: s.max };
  /** @type {Record<string, number>} */
  const out = {};
  for (const st of TREND_STATS) {
    const p = /^p\((\d+(?:\.\d+)?)\)$/.exec(st);
    out[st] = p ? s.p(Number(p[1]) / 100) : s[st];
  }
  return out;
}

/**
 * The runners' check results, summed by group and check name.
 * @param {any[]} groups @returns {any}
 */
function mergeGroups(groups) {
  const first = groups[0] ?? { name: '', path: '', id: '' };
  /** @type {Map<string, any>} */
  const checks = new Map();
  /** @type {Map<string, any[]>} */
  const subgroups = new Map();
  /** @param {any} x */
  const list = (x) => (Array.isArray(x) ? x : Object.values(x ?? {}));
  for (const g of groups) {
    for (const c of list(g.checks)) {
      const prev = checks.get(c.name) ?? { ...c, passes: 0, fails: 0 };
      checks.set(c.name, { ...prev, passes: prev.passes + c.passes, fails: prev.fails + c.fails });
    }
    for (const sub of list(g.groups)) subgroups.set(sub.name, [...(subgroups.get(sub.name) ?? []), sub]);
  }
  return {
    name: first.name,
    path: first.path,
    id: first.id,
    checks: Object.fromEntries([...checks].map(([n, c]) => [n, c])),
    groups: Object.fromEntries([...subgroups].map(([n, gs]) => [n, mergeGroups(gs)])),
  };
}

/**
 * The thresholds as lines like k6 prints them: ✓/✗ metric expression (actual value).
 * @param {ThresholdResult[]} thresholds
 */
export function formatThresholds(thresholds) {
  return thresholds
    .map(
      (t) =>
        `${t.ok ? '✓' : '✗'} ${t.metric}: ${t.expr}${t.error ? ` (${t.error})` : ` (merged: ${Number.isInteger(t.actual) ? t.actual : t.actual?.toFixed(3)})`}`,
    )
    .join('\n');
}

/**
 * Reads and merges runner folders.
 * @param {string[]} dirs
 */
export async function mergeDirs(dirs) {
  return mergeRunners(await Promise.all(dirs.map(readRunner)));
}

const USAGE = `usage: npm run merge -- [--out FILE] DIR...
       npm run merge -- --influx URL --testid ID --scenario NAME [-e NAME=VALUE]... [--run RUN] [--out FILE]
  Merges the runners of one split run into one summary, every threshold evaluated on the merged
  samples; exits 99 (as k6 does) if one fails on the merged result.
  DIR...          runner folders, each with summary.json (k6 --summary-export) and ${POINTS_FILE}
                  (k6 --out json=${POINTS_FILE}), as npm start --segments N leaves them
  --influx URL    read the samples from InfluxDB instead: the URL given to k6's --out influxdb=
                  (e.g. http://127.0.0.1:8086/k6); runners told apart by their instance_id tag
  --testid ID     the run's testid tag (k6-operator runs: the one npm run k8s printed)
  --run RUN       only samples with this run tag (npm start tags each comparison entry)
  --scenario NAME the scenario the runners ran; its thresholds come from \`k6 inspect\` with the -e settings
  -e NAME=VALUE   a setting the runners had (PROFILE, VUS, …), repeatable
  --out FILE      where to write the merged summary (default merged-summary.json beside the first DIR,
                  or in the current folder)
  --help          this text`;

async function main() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        influx: { type: 'string' },
        testid: { type: 'string' },
        run: { type: 'string' },
        scenario: { type: 'string' },
        env: { type: 'string', short: 'e', multiple: true, default: [] },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    console.error(`merge: ${/** @type {Error} */ (err).message}\n\n${USAGE}`);
    process.exit(2);
  }
  const v = parsed.values;
  if (v.help) return console.log(USAGE);
  /** @param {string} msg @returns {never} */
  const usage = (msg) => {
    console.error(`merge: ${msg}\n\n${USAGE}`);
    process.exit(2);
  };
  const dirs = parsed.positionals;
  let merged;
  let out;
  if (v.influx) {
    if (dirs.length) usage('give runner folders or --influx, not both');
    if (!v.testid) usage('--influx needs --testid');
    if (!v.scenario) usage('--influx needs --scenario (its thresholds are judged on the merged samples)');
    const m = /^(https?:\/\/[^/]+)\/([^/?]+)$/.exec(v.influx);
    if (!m) usage(`--influx '${v.influx}': expected http://host:port/database, as given to k6's --out influxdb=`);
    /** @type {Record<string, string>} */
    const env = {};
    for (const kv of v.env) {
      const eq = kv.indexOf('=');
      if (eq < 1) usage(`-e '${kv}': expected NAME=VALUE`);
      env[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    const { readInfluxRunners, scenarioThresholds } = await import('./merge-influx.mjs');
    const runners = await readInfluxRunners({
      url: /** @type {string[]} */ (m)[1],
      db: /** @type {string[]} */ (m)[2],
      testid: v.testid,
      run: v.run,
    });
    merged = mergeRunners(runners, { thresholds: await scenarioThresholds(v.scenario, env) });
    out = v.out ?? 'merged-summary.json';
  } else {
    if (dirs.length === 0) usage('no runner folders given');
    merged = await mergeDirs(dirs);
    out = v.out ?? join(dirname(resolve(dirs[0])), 'merged-summary.json');
  }
  writeFileSync(out, JSON.stringify(merged.summary, null, 2));
  console.log(
    `${merged.summary.runners} runners, ${(merged.durationMs / 1000).toFixed(1)} s\n${formatThresholds(merged.thresholds)}\nmerged summary: ${out}`,
  );
  if (merged.failed) process.exit(99);
}

// Run as a command only when this file itself is the entry point (it is also bundled into tests).
if (
  import.meta.url.endsWith('/tools/merge.mjs') &&
  process.argv[1] &&
  resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  main().catch((err) => {
    console.error(`merge: ${err?.message ?? err}`);
    process.exit(1);
  });
}
