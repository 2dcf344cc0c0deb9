// @ts-check
// From repeated runs to answers: the headline figures every row carries, the workloads that
// group matched runs (which protocols race on the same work), the central value and spread of
// each figure per entry, and a verdict per workload and figure: the winner, by how much (× and
// absolute), or "no clear difference" when the spreads overlap. A row flagged generator-bound
// (k6 itself was the limit) is never declared a winner. Pure: tested in test/unit.
import { METHOD, NEGLIGIBLE, isBetter, margin, overlaps, spread } from './stats.mjs';

export { METHOD };

/**
 * The headline figures, each with the direction that is better.
 * @typedef {{ key: 'p50' | 'p95' | 'p99' | 'msgsPerSec' | 'connect' | 'cpuPer1k' | 'wirePerMsg', label: string, unit: string, better: 'lower' | 'higher', digits: number }} Figure
 * @type {Figure[]}
 */
export const FIGURES = [
  { key: 'p50', label: 'p50 latency', unit: 'ms', better: 'lower', digits: 2 },
  { key: 'p95', label: 'p95 latency', unit: 'ms', better: 'lower', digits: 2 },
  { key: 'p99', label: 'p99 latency', unit: 'ms', better: 'lower', digits: 2 },
  { key: 'msgsPerSec', label: 'throughput', unit: 'msg/s', better: 'higher', digits: 0 },
  { key: 'connect', label: 'connect time', unit: 'ms', better: 'lower', digits: 2 },
  { key: 'cpuPer1k', label: 'server CPU', unit: 'ms/1k msgs', better: 'lower', digits: 0 },
  { key: 'wirePerMsg', label: 'wire bytes', unit: 'B/msg', better: 'lower', digits: 0 },
];

/**
 * The workloads: matched runs that answer one question. `entries` maps a comparison entry's
 * name to the label it races under; `skip` leaves out figures that do not compare on that work
 * (a paced feed's throughput is the server's publish rate; call patterns take latency
 * differently). A workload is judged when at least two of its entries ran.
 * @typedef {{ id: string, title: string, entries: Record<string, string>, skip?: Array<Figure['key']>, note?: string }} Workload
 * @type {Workload[]}
 */
export const WORKLOADS = [
  {
    id: 'image-sequential',
    title: 'image transfer, one image at a time (seed 000)',
    entries: { 'ws-image sequential': 'WebSocket', 'grpc-image sequential': 'gRPC' },
  },
  {
    id: 'image-concurrent',
    title: 'image transfer, all images at once (seed 000)',
    entries: { 'ws-image concurrent': 'WebSocket', 'grpc-image concurrent': 'gRPC' },
  },
  {
    id: 'push',
    title: 'server push, one stream per client (seed 001)',
    entries: { 'sse-feed': 'SSE', 'ws-feed': 'WebSocket', 'socketio-feed': 'Socket.IO' },
    skip: ['msgsPerSec'],
    note: 'throughput is left out: the server publishes at a fixed rate to each',
  },
  {
    id: 'fanout',
    title: 'fan-out, one channel to 10 subscribers per client (seed 001)',
    entries: { 'sse-feed fanout': 'SSE', 'ws-feed fanout': 'WebSocket' },
    skip: ['msgsPerSec'],
    note: 'throughput is left out: the server publishes at a fixed rate to both',
  },
  {
    id: 'echo',
    title: 'echo round trips, one message in flight (seed 002)',
    entries: { 'ws-echo': 'WebSocket', 'socketio-echo': 'Socket.IO', 'grpc-echo': 'gRPC bidi' },
  },
  {
    id: 'bridge-unary',
    title: 'unary calls: gRPC direct vs through the WebSocket bridge (seed 003)',
    entries: { 'grpc-unary': 'gRPC direct', 'grpc-over-ws unary': 'gRPC over WebSocket' },
  },
  {
    id: 'bridge-bidi',
    title: 'pipelined bidi stream: gRPC direct vs through the WebSocket bridge (seed 003)',
    entries: { 'grpc-bidi pipelined': 'gRPC direct', 'grpc-over-ws bidi pipelined': 'gRPC over WebSocket' },
  },
  {
    id: 'grpc-patterns',
    title: 'gRPC call patterns moving the same messages (seed 004)',
    entries: {
      'grpc-unary': 'unary',
      'grpc-server-stream': 'server stream',
      'grpc-client-stream': 'client stream',
      'grpc-bidi pipelined': 'bidi pipelined',
    },
    skip: ['p50', 'p95', 'p99', 'connect'],
    note: 'latency is left out: each pattern takes it differently (round trip, one-way, or none for a client stream)',
  },
];

/**
 * One k6 run's figures (a comparison row, see tools/report.mjs) plus what the run loop knows.
 * `dir` and `dashboard`: the run's folder and its k6 web-dashboard export, relative to the results folder.
 * @typedef {import('../report.mjs').Row & { entry: string, repeat: number, latencyResolutionMs?: number, dir?: string, dashboard?: string | null, proxyCpuMs?: number }} RunRow
 */

/**
 * An entry's figures over its repeats.
 * @typedef {object} EntryStats
 * @property {string} name
 * @property {number} runs            how many runs it had
 * @property {Record<Figure['key'] | 'p90' | 'max' | 'mbPerSec' | 'proxyCpuPer1k', import('./stats.mjs').Spread | null>} figures
 *   (proxyCpuPer1k: the reverse proxy's own CPU per 1,000 messages, runs through a proxy only)
 * @property {number} failedChecks    over all its runs
 * @property {boolean} generatorBound any of its runs was flagged: k6 was the limit, not the server
 * @property {Record<string, string | null> | undefined} conditions  e.g. { network, proxy }
 * @property {number} resolutionMs    how finely its latencies and connect times are taken (1: whole ms from
 *                                    Date.now(), as k6 gives gRPC handlers; 0: finer)
 */

const EXTRA_KEYS = /** @type {const} */ (['p90', 'max', 'mbPerSec']);

/**
 * The reverse proxy's own CPU per 1,000 delivered messages in one run, ms (null without a proxy).
 * @param {RunRow} r
 */
export function proxyCpuPer1k(r) {
  return typeof r.proxyCpuMs === 'number' && r.msgs ? (1000 * r.proxyCpuMs) / r.msgs : null;
}

/** @param {RunRow[]} rows the runs of one entry @returns {EntryStats} */
export function entryStats(rows) {
  if (rows.length === 0) throw new Error('entryStats of no runs');
  /** @type {any} */
  const figures = {};
  for (const key of [...FIGURES.map((f) => f.key), ...EXTRA_KEYS])
    figures[key] = spread(rows.map((r) => /** @type {any} */ (r)[key]));
  figures.proxyCpuPer1k = spread(rows.map(proxyCpuPer1k));
  return {
    name: rows[0].entry,
    runs: rows.length,
    figures,
    failedChecks: rows.reduce((n, r) => n + (r.failedChecks ?? 0), 0),
    generatorBound: rows.some((r) => r.generatorBound === true),
    conditions: rows[0].conditions,
    resolutionMs: Math.max(0, ...rows.map((r) => r.latencyResolutionMs ?? 0)),
  };
}

/** Groups runs by entry, in the order entries first appear in `order` (or in the runs). @param {RunRow[]} rows @param {string[]} [order] */
export function statsByEntry(rows, order) {
  const names = order ?? [...new Set(rows.map((r) => r.entry))];
  /** @type {Map<string, EntryStats>} */
  const out = new Map();
  for (const name of names) {
    const own = rows.filter((r) => r.entry === name);
    if (own.length) out.set(name, entryStats(own));
  }
  return out;
}

/**
 * @typedef {object} Contender
 * @property {string} label
 * @property {string} entry
 * @property {import('./stats.mjs').Spread} value
 * @property {boolean} generatorBound
 * @property {number} resolution  the figure is taken in steps this big: its spread widens by it either way
 */

/** Figures taken with a clock, whose resolution widens the spread. */
const TIMED = ['p50', 'p95', 'p99', 'connect'];

/** A contender's spread widened by its clock's resolution (a whole-ms reading v means v−1 to v+1). @param {Contender} c */
function widened(c) {
  return c.resolution
    ? { ...c.value, min: Math.max(0, c.value.min - c.resolution), max: c.value.max + c.resolution }
    : c.value;
}

/**
 * @typedef {object} Criterion
 * @property {Figure} figure
 * @property {'winner' | 'no-clear-difference' | 'no-verdict' | 'not-measured'} outcome
 * @property {Contender[]} contenders  best first (by central value)
 * @property {Contender} [winner]
 * @property {Contender} [runnerUp]
 * @property {number} [ratio]          worse ÷ better central value (≥ 1)
 * @property {number} [abs]            absolute difference in the figure's unit (> 0)
 * @property {string} text             one line a person reads
 */

/**
 * The verdict on one figure among contenders.
 * @param {Figure} figure @param {Array<{ label: string, entry: string, stats: EntryStats }>} rows
 * @returns {Criterion}
 */
export function judge(figure, rows) {
  /** @type {Contender[]} */
  const contenders = rows
    .filter((r) => r.stats.figures[figure.key])
    .map((r) => ({
      label: r.label,
      entry: r.entry,
      value: /** @type {import('./stats.mjs').Spread} */ (r.stats.figures[figure.key]),
      generatorBound: r.stats.generatorBound,
      resolution: TIMED.includes(figure.key) ? r.stats.resolutionMs : 0,
    }))
    .sort((a, b) =>
      isBetter(a.value, b.value, figure.better) ? -1 : isBetter(b.value, a.value, figure.better) ? 1 : 0,
    );
  const missing = rows.filter((r) => !r.stats.figures[figure.key]).map((r) => r.label);
  const base = { figure, contenders };
  if (contenders.length < 2) {
    return {
      ...base,
      outcome: 'not-measured',
      text: `${figure.label}: not measured${missing.length ? ` for ${missing.join(', ')}` : ''}`,
    };
  }
  const fmt = (/** @type {Contender} */ c) =>
    `${c.label} ${formatSpread(c.value, figure)}${c.resolution ? ` (whole ${figure.unit})` : ''}${c.generatorBound ? ' (generator-bound)' : ''}`;
  const eligible = contenders.filter((c) => !c.generatorBound);
  const best = eligible[0];
  // A flagged row that is not clearly behind the best eligible one blocks any verdict: it may
  // only look slower because k6, not the server, was the limit.
  const blocking = contenders.filter((c) => c.generatorBound && (!best || !clearlyBehind(c, best, figure)));
  if (!best || blocking.length) {
    return {
      ...base,
      outcome: 'no-verdict',
      text: `${figure.label}: no verdict, ${blocking.map((c) => c.label).join(', ')} generator-bound (k6 was the limit): ${contenders.map(fmt).join(' vs ')}`,
    };
  }
  const runnerUp = /** @type {Contender} */ (contenders.find((c) => c !== best));
  const m = margin(best.value, runnerUp.value, figure.better);
  if (overlaps(widened(best), widened(runnerUp)) || best.value.n < 2 || runnerUp.value.n < 2) {
    const why =
      best.value.n < 2 || runnerUp.value.n < 2
        ? 'one run gives no spread'
        : overlaps(best.value, runnerUp.value)
          ? 'spreads overlap'
          : `spreads overlap within the ${best.resolution || runnerUp.resolution} ${figure.unit} clock resolution`;
    return {
      ...base,
      outcome: 'no-clear-difference',
      runnerUp,
      ratio: m.ratio,
      abs: m.abs,
      text: `${figure.label}: no clear difference (${why}): ${contenders.map(fmt).join(' vs ')}`,
    };
  }
  if (m.ratio < 1 + NEGLIGIBLE) {
    return {
      ...base,
      outcome: 'no-clear-difference',
      runnerUp,
      ratio: m.ratio,
      abs: m.abs,
      text: `${figure.label}: no clear difference (within ${NEGLIGIBLE * 100}%): ${contenders.map(fmt).join(' vs ')}`,
    };
  }
  const way = figure.better === 'lower' ? 'lower' : 'higher';
  const absText = `${figure.better === 'lower' ? '−' : '+'}${formatNumber(m.abs, figure.digits)} ${figure.unit}`;
  return {
    ...base,
    outcome: 'winner',
    winner: best,
    runnerUp,
    ratio: m.ratio,
    abs: m.abs,
    text: `${figure.label}: ${best.label} wins, ${Number.isFinite(m.ratio) ? `${formatRatio(m.ratio)} ${way} (${absText})` : absText}: ${contenders.map(fmt).join(' vs ')}`,
  };
}

/** @param {Contender} c @param {Contender} best @param {Figure} figure  c is worse than best and their spreads do not touch */
function clearlyBehind(c, best, figure) {
  return isBetter(best.value, c.value, figure.better) && !overlaps(widened(best), widened(c));
}

/**
 * @typedef {object} Verdict
 * @property {Workload} workload
 * @property {Array<{ label: string, entry: string, stats: EntryStats }>} rows
 * @property {Criterion[]} criteria
 */

/**
 * A verdict for every workload at least two of whose entries ran.
 * @param {Map<string, EntryStats>} stats @param {Workload[]} [workloads] @returns {Verdict[]}
 */
export function verdicts(stats, workloads = WORKLOADS) {
  /** @type {Verdict[]} */
  const out = [];
  for (const workload of workloads) {
    const rows = Object.entries(workload.entries)
      .filter(([entry]) => stats.has(entry))
      .map(([entry, label]) => ({ label, entry, stats: /** @type {EntryStats} */ (stats.get(entry)) }));
    if (rows.length < 2) continue;
    const criteria = FIGURES.filter((f) => !workload.skip?.includes(f.key)).map((f) => judge(f, rows));
    out.push({ workload, rows, criteria });
  }
  return out;
}

/** The verdict lines npm start prints. @param {Verdict[]} list @returns {string} */
export function formatVerdicts(list) {
  const lines = [];
  for (const v of list) {
    lines.push(`${v.workload.title}:`);
    for (const c of v.criteria) if (c.outcome !== 'not-measured') lines.push(`  ${c.text}`);
    if (v.workload.note) lines.push(`  (${v.workload.note})`);
  }
  return lines.join('\n');
}

/** @param {number} v @param {number} digits */
export function formatNumber(v, digits) {
  const d = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? Math.min(digits, 1) : digits;
  return v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** @param {number} ratio */
export function formatRatio(ratio) {
  return ratio === Infinity ? '∞×' : `${ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(2)}×`;
}

/** "12.3 ms [11.9–13.0]" @param {import('./stats.mjs').Spread} s @param {{ unit: string, digits: number }} figure */
export function formatSpread(s, figure) {
  const core = `${formatNumber(s.center, figure.digits)} ${figure.unit}`;
  return s.n < 2
    ? `${core} (1 run)`
    : `${core} [${formatNumber(s.min, figure.digits)}–${formatNumber(s.max, figure.digits)}]`;
}
