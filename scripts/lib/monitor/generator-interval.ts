// The generator-cost monitor's pure part (no k6 imports, so node:test covers it): what two
// snapshots of k6/x/measure's generator() say about the interval between them.
import type { Generator } from 'k6/x/measure';

export interface GeneratorInterval {
  /** k6's CPU time (user + system) in the interval, ms. */
  cpuMs: number;
  /** The same as % of one core (k6's ceiling is cores × 100). */
  cpuPercent: number;
  /** Stop-the-world GC pause in the interval, ms. */
  gcPauseMs: number;
  /** The whole machine's idle CPU in the interval, % of one core (2 idle cores = 200); null without /proc/stat. */
  hostIdlePercent: number | null;
}

/** The interval between two snapshots, or null when they do not follow on. */
export function generatorInterval(prev: Generator, cur: Generator): GeneratorInterval | null {
  const elapsedMs = cur.atMs - prev.atMs;
  const cpuMs = cur.cpuUserMs + cur.cpuSystemMs - (prev.cpuUserMs + prev.cpuSystemMs);
  if (!(elapsedMs > 0) || cpuMs < 0) return null;
  let hostIdlePercent: number | null = null;
  if (prev.host && cur.host) {
    const busy = cur.host.busyMs - prev.host.busyMs;
    const idle = cur.host.idleMs - prev.host.idleMs;
    // /proc/stat counts in 10 ms ticks: over a short interval there may be none.
    if (busy >= 0 && idle >= 0 && busy + idle > 0) hostIdlePercent = (100 * cur.host.cores * idle) / (busy + idle);
  }
  return {
    cpuMs,
    cpuPercent: (100 * cpuMs) / elapsedMs,
    gcPauseMs: Math.max(0, cur.gcPauseMs - prev.gcPauseMs),
    hostIdlePercent,
  };
}
