// @ts-check
// The side-by-side comparison table, from k6 summary exports. Same columns for every protocol:
// per-message latency (how it is taken is the run's `measure`), batch time, throughput in
// messages and payload megabytes per second, connect time, and failed checks.

/**
 * @typedef {object} Row
 * @property {string} run
 * @property {number | null} msgs        rtb_messages count
 * @property {number | null} p50         rtb_latency, ms
 * @property {number | null} p95
 * @property {number | null} max
 * @property {number | null} batch       rtb_batch_time median, ms (e.g. total time for N images)
 * @property {number | null} msgsPerSec  rtb_messages rate over the whole run
 * @property {number | null} mbPerSec    rtb_payload_bytes rate, MB/s (10^6 bytes)
 * @property {number | null} connect     rtb_connect_time median, ms
 * @property {number} failedChecks
 * @property {number | null} exitCode
 */

/** @param {any} summary @param {string} metric @param {string} stat */
function stat(summary, metric, stat) {
  const v = summary?.metrics?.[metric]?.[stat];
  return typeof v === 'number' ? v : null;
}

/**
 * @param {string} run @param {any} summary
 * @param {{ exitCode: number | null, failedChecks: number }} status
 * @returns {Row}
 */
export function comparisonRow(run, summary, { exitCode, failedChecks }) {
  const rate = stat(summary, 'rtb_payload_bytes', 'rate');
  return {
    run,
    msgs: stat(summary, 'rtb_messages', 'count'),
    p50: stat(summary, 'rtb_latency', 'med'),
    p95: stat(summary, 'rtb_latency', 'p(95)'),
    max: stat(summary, 'rtb_latency', 'max'),
    batch: stat(summary, 'rtb_batch_time', 'med'),
    msgsPerSec: stat(summary, 'rtb_messages', 'rate'),
    mbPerSec: rate === null ? null : rate / 1e6,
    connect: stat(summary, 'rtb_connect_time', 'med'),
    failedChecks,
    exitCode,
  };
}

/** @param {number | null} v @param {number} [digits] */
const num = (v, digits = 1) => (v === null ? '–' : v >= 1000 ? v.toFixed(0) : v.toFixed(digits));

/** @param {Row[]} rows @returns {string} */
export function formatTable(rows) {
  const head = ['run', 'msgs', 'p50 ms', 'p95 ms', 'max ms', 'batch ms', 'msgs/s', 'MB/s', 'connect ms', 'failed checks'];
  const body = rows.map((r) => [
    r.run,
    r.msgs === null ? '–' : String(r.msgs),
    num(r.p50), num(r.p95), num(r.max), num(r.batch), num(r.msgsPerSec), num(r.mbPerSec), num(r.connect),
    `${r.failedChecks}${r.exitCode !== 0 ? ` (k6 exit ${r.exitCode})` : ''}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]?.length ?? 0)));
  /** @param {string[]} cells */
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line),
    '',
    'p50/p95/max: per-message latency (rtb_latency; for images: send → ack, see README "How latency is taken").',
    'batch: median time for one iteration\'s batch (e.g. all N images). msgs/s and MB/s: over the whole run.',
  ].join('\n');
}
