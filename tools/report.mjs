// @ts-check
// The side-by-side comparison table, from k6 summary exports. Same columns for every protocol:
// per-message latency (how it is taken is the run's `measure`), batch time, throughput in
// messages and payload megabytes per second, connect time, what the server spent per 1,000
// messages, bytes on the wire per message, and failed checks.
import { saturation } from './lib/saturation.mjs';

/**
 * @typedef {object} Row
 * @property {string} run
 * @property {number | null} msgs        rtb_messages count
 * @property {number | null} p50         rtb_latency, ms
 * @property {number | null} p90
 * @property {number | null} p95
 * @property {number | null} p99
 * @property {number | null} max
 * @property {number | null} batch       rtb_batch_time median, ms (e.g. total time for N images)
 * @property {number | null} msgsPerSec  rtb_messages rate over the whole run
 * @property {number | null} mbPerSec    rtb_payload_bytes rate, MB/s (10^6 bytes)
 * @property {number | null} connect     rtb_connect_time median, ms
 * @property {{ min: number, avg: number, max: number } | null} trips  rtb_round_trips: round trips per client window (echo runs)
 * @property {number | null} cpuPer1k    server CPU time per 1,000 delivered messages, ms
 * @property {number | null} wirePerMsg  bytes the workload's connections sent + received, per delivered message
 * @property {number} failedChecks
 * @property {number | null} exitCode
 * @property {boolean} [generatorBound]  k6 itself was the limit of this run (tools/lib/saturation.mjs); never a winner
 * @property {import('./lib/saturation.mjs').Saturation | null} [generator]  the verdict and its reasons (null: no generator samples)
 * @property {number | null} [intendedP99]  rtb_latency_intended p99, ms: paced workloads only (null: closed loop)
 * @property {number | null} [dropped]      k6's dropped_iterations (open model: iterations it could not start on time)
 * @property {Record<string, string | null>} [conditions]  what the run went through, e.g. { network: 'wan', proxy: null }
 */

/** @param {any} summary @param {string} metric @param {string} stat */
function stat(summary, metric, stat) {
  const v = summary?.metrics?.[metric]?.[stat];
  return typeof v === 'number' ? v : null;
}

/**
 * The workload's bytes on the wire: the `data_sent{scenario:…}` and `data_received{scenario:…}`
 * submetrics that scenarioOptions keeps (the monitor's polls are another scenario).
 * @param {any} summary @returns {number | null}
 */
function wireBytes(summary) {
  const keys = Object.keys(summary?.metrics ?? {}).filter((k) => /^data_(sent|received)\{scenario:[^}]+\}$/.test(k));
  return keys.length === 2 ? keys.reduce((sum, k) => sum + (stat(summary, k, 'count') ?? 0), 0) : null;
}

/**
 * @param {string} run @param {any} summary
 * @param {{ exitCode: number | null, failedChecks: number }} status
 * @param {{ serverCpuMs: number | null }} [cost]  server CPU time used during the run, ms
 * @returns {Row}
 */
export function comparisonRow(run, summary, { exitCode, failedChecks }, { serverCpuMs } = { serverCpuMs: null }) {
  const rate = stat(summary, 'rtb_payload_bytes', 'rate');
  const msgs = stat(summary, 'rtb_messages', 'count');
  const wire = wireBytes(summary);
  return {
    run,
    msgs,
    p50: stat(summary, 'rtb_latency', 'med'),
    p90: stat(summary, 'rtb_latency', 'p(90)'),
    p95: stat(summary, 'rtb_latency', 'p(95)'),
    p99: stat(summary, 'rtb_latency', 'p(99)'),
    max: stat(summary, 'rtb_latency', 'max'),
    batch: stat(summary, 'rtb_batch_time', 'med'),
    msgsPerSec: stat(summary, 'rtb_messages', 'rate'),
    mbPerSec: rate === null ? null : rate / 1e6,
    connect: stat(summary, 'rtb_connect_time', 'med'),
    trips: roundTrips(summary),
    cpuPer1k: serverCpuMs === null || !msgs ? null : (1000 * serverCpuMs) / msgs,
    wirePerMsg: wire === null || !msgs ? null : wire / msgs,
    failedChecks,
    exitCode,
    // issue 11: was k6 the bottleneck, and the open-loop figures of paced workloads
    generatorBound: saturation(summary)?.bound ?? false,
    generator: saturation(summary),
    intendedP99: stat(summary, 'rtb_latency_intended', 'p(99)'),
    dropped: stat(summary, 'dropped_iterations', 'count'),
  };
}

/**
 * Round trips per client window (rtb_round_trips, one sample per iteration): min / mean / max
 * across the run's clients, as seed 002's throughput scripts report them.
 * @param {any} summary
 */
function roundTrips(summary) {
  const [min, avg, max] = ['min', 'avg', 'max'].map((s) => stat(summary, 'rtb_round_trips', s));
  return min === null || avg === null || max === null ? null : { min, avg, max };
}

/** @param {number | null} v @param {number} [digits] */
const num = (v, digits = 1) => (v === null ? '–' : v >= 1000 ? v.toFixed(0) : v.toFixed(digits));

/** @param {Row[]} rows @returns {string} */
export function formatTable(rows) {
  const head = [
    'run',
    'msgs',
    'p50 ms',
    'p95 ms',
    'max ms',
    'batch ms',
    'trips/client min/avg/max',
    'msgs/s',
    'MB/s',
    'connect ms',
    'srv CPU ms/1k',
    'wire B/msg',
    'sched p99 ms',
    'dropped',
    'failed checks',
  ];
  const body = rows.map((r) => [
    r.run + (r.generatorBound ? ' [GEN]' : ''), // generator-bound: see generatorNotes
    r.msgs === null ? '–' : String(r.msgs),
    num(r.p50),
    num(r.p95),
    num(r.max),
    num(r.batch),
    r.trips ? [r.trips.min, r.trips.avg, r.trips.max].map((v) => v.toFixed(0)).join('/') : '–',
    num(r.msgsPerSec),
    num(r.mbPerSec),
    num(r.connect),
    num(r.cpuPer1k),
    num(r.wirePerMsg, 0),
    r.intendedP99 === null || r.intendedP99 === undefined ? 'closed' : num(r.intendedP99),
    r.dropped ? String(r.dropped) : '0',
    `${r.failedChecks}${r.exitCode !== 0 ? ` (k6 exit ${r.exitCode})` : ''}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]?.length ?? 0)));
  /** @param {string[]} cells */
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    'p50/p95/max: per-message latency (rtb_latency; for images: send → ack, see README "How latency is taken").',
    "batch: median time for one iteration's batch (e.g. all N images). msgs/s and MB/s: over the whole run.",
    'trips/client: echo runs: round trips one client completed in its window (rtb_round_trips), min/mean/max over clients.',
    "srv CPU ms/1k: the server process's CPU time (user + system, GET /stats read before and after the run) per 1,000",
    '  delivered messages (rtb_messages). One Node process hosts every protocol, so idle cost during the run is included.',
    "wire B/msg: bytes the workload's connections sent + received as k6 counts them on the socket (data_sent + data_received",
    "  of the scenario: handshakes, headers and framing included, the monitor's polls not), per delivered message.",
    'sched p99: paced workloads (a stream or feed with a rate): p99 of latency from when each message was due by the',
    '  schedule (rtb_latency_intended), so a stalled sender shows; "closed": the next send waits for the last, and a',
    '  stall delays sends instead of showing in latency. dropped: iterations the open model could not start on time.',
    ...generatorNotes(rows),
  ].join('\n');
}

/**
 * The footnote for rows flagged [GEN]: the generator (k6) was the bottleneck, so their figures
 * describe k6 as much as the protocol (tools/lib/saturation.mjs says when).
 * @param {Row[]} rows @returns {string[]}
 */
export function generatorNotes(rows) {
  const bound = rows.filter((r) => r.generator?.bound);
  if (bound.length === 0) return [];
  return [
    '',
    "[GEN] generator-bound: k6 itself was the limit in these runs, so their latency and throughput are k6's as much",
    '  as the protocol\'s (README "How latency is taken"); compare them only with care:',
    ...bound.map((r) => `  ${r.run}: ${r.generator?.reasons.join('; ')}`),
  ];
}

/**
 * The table of entries over their repeats: each figure's central value and its min–max spread
 * (see tools/report/stats.mjs for the method).
 * @param {Map<string, import('./report/verdicts.mjs').EntryStats>} stats @returns {string}
 */
export function formatStatsTable(stats) {
  const proxied = [...stats.values()].some((s) => s.figures.proxyCpuPer1k);
  /** @type {[string, (s: import('./report/verdicts.mjs').EntryStats) => string]} */
  const proxyCol = ['proxy CPU ms/1k', (s) => cell(s.figures.proxyCpuPer1k, 0)];
  /** @type {Array<[string, (s: import('./report/verdicts.mjs').EntryStats) => string]>} */
  const cols = [
    ['runs', (s) => String(s.runs)],
    ['p50 ms', (s) => cell(s.figures.p50, 2)],
    ['p95 ms', (s) => cell(s.figures.p95, 2)],
    ['p99 ms', (s) => cell(s.figures.p99, 2)],
    ['msgs/s', (s) => cell(s.figures.msgsPerSec, 0)],
    ['connect ms', (s) => cell(s.figures.connect, 2)],
    ['srv CPU ms/1k', (s) => cell(s.figures.cpuPer1k, 0)],
    // through a reverse proxy (--proxy): the proxy process's own CPU beside the servers'
    ...(proxied ? [proxyCol] : []),
    ['wire B/msg', (s) => cell(s.figures.wirePerMsg, 0)],
    ['failed checks', (s) => `${s.failedChecks}${s.generatorBound ? ' gen-bound' : ''}`],
  ];
  const head = ['entry', ...cols.map(([h]) => h)];
  const body = [...stats.values()].map((s) => [s.name, ...cols.map(([, f]) => f(s))]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  /** @param {string[]} cells */
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** "0.25 [0.24–0.28]" @param {import('./report/stats.mjs').Spread | null} s @param {number} digits */
function cell(s, digits) {
  if (!s) return '–';
  /** @param {number} v */
  const f = (v) =>
    Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(Math.min(1, digits)) : v.toFixed(digits);
  return s.n < 2 ? f(s.center) : `${f(s.center)} [${f(s.min)}–${f(s.max)}]`;
}
