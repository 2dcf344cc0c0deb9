// @ts-check
// Was the generator the bottleneck? A verdict from one k6 run's summary export, read from the
// rtb_generator_* metrics the monitor scenario samples once per interval (scripts/lib/monitor/
// generator.ts). A run is generator-bound when either holds for at least half of its intervals
// (medians of the per-interval samples):
//  - k6's CPU is near what it could get: at least CPU_SHARE of the smaller of its ceiling
//    (GOMAXPROCS × 100%) and what it used plus what the machine left idle, and at least
//    MIN_CPU_PERCENT (so a light run on a machine others keep busy is not flagged);
//  - the VUs' event loops ran the lag probe's timers late: the interval's latest at least LAG_MS
//    later than a plain Go timer in the same process (the control: what is left is the loops'
//    own backlog, not a machine that others keep busy).
// Then the figures describe k6 as much as the protocol: latencies include time the client spent
// waiting for CPU or for its own event loop, and throughput is capped by the client.

export const CPU_SHARE = 0.85;
export const MIN_CPU_PERCENT = 50;
export const LAG_MS = 50;

/**
 * @typedef {object} Saturation
 * @property {boolean} bound          the generator was the bottleneck
 * @property {string[]} reasons       why, in words (empty when not bound)
 * @property {number} cpuPercent      k6 CPU, median of the intervals, % of one core
 * @property {number} ceilingPercent  cores k6 may use × 100
 * @property {number} availablePercent what k6 could have had: min(ceiling, k6 + machine idle)
 * @property {number | null} lagMs    median of the per-interval latest lag-probe timer, ms (null: no probe ran)
 * @property {number | null} timerLagMs  the same for the control timer, ms
 */

/** @param {any} summary @param {string} metric @param {string} stat @returns {number | null} */
function stat(summary, metric, stat) {
  const v = summary?.metrics?.[metric]?.[stat];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * The verdict, or null when the run has no generator samples (no monitor: -e MONITOR=off, a
 * fixed iteration count, or a k6 without k6/x/measure).
 * @param {any} summary  k6 --summary-export JSON
 * @param {{ cpuShare?: number, minCpuPercent?: number, lagMs?: number }} [limits]
 * @returns {Saturation | null}
 */
export function saturation(summary, { cpuShare = CPU_SHARE, minCpuPercent = MIN_CPU_PERCENT, lagMs = LAG_MS } = {}) {
  const cpu = stat(summary, 'rtb_generator_cpu_percent', 'med');
  const cores = stat(summary, 'rtb_generator_cores', 'max');
  if (cpu === null || cores === null) return null;
  const ceiling = cores * 100;
  const idle = stat(summary, 'rtb_generator_host_idle_percent', 'med');
  const available = idle === null ? ceiling : Math.min(ceiling, cpu + idle);
  const lag = stat(summary, 'rtb_generator_loop_lag', 'med');
  const timerLag = stat(summary, 'rtb_generator_timer_lag', 'med');
  const excess = lag === null ? null : lag - (timerLag ?? 0);
  const reasons = [];
  if (cpu >= minCpuPercent && cpu >= cpuShare * available) {
    reasons.push(
      `k6 CPU ${cpu.toFixed(0)}% of the ${available.toFixed(0)}% it could get (ceiling ${ceiling.toFixed(0)}%)`,
    );
  }
  if (excess !== null && excess >= lagMs) {
    reasons.push(
      `VU event loop ${lag?.toFixed(0)} ms late, ${excess.toFixed(0)} ms more than a plain timer (lag probe, ≥ ${lagMs} ms)`,
    );
  }
  return {
    bound: reasons.length > 0,
    reasons,
    cpuPercent: cpu,
    ceilingPercent: ceiling,
    availablePercent: available,
    lagMs: lag,
    timerLagMs: timerLag,
  };
}
