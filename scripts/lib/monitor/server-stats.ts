// The server-cost monitor's pure parts (no k6 imports, so node:test exercises them): the k6
// scenario it runs as, and what two snapshots of the servers' GET /stats (contracts/stats.ts) say
// about the interval between them. The k6 side is monitor.ts.
import type { Executor } from '../load/profiles.ts';
import { COUNTERS, type ProtocolCounters, type ServerStats } from '../../../contracts/stats.ts';
import { formatDuration, parseDuration } from '../load/settings.ts';

/** The monitor's k6 scenario name; its samples also carry role=monitor and workload=<scenario>. */
export const MONITOR_SCENARIO = 'rtb_monitor';

export interface Interval {
  /** CPU time the server used in the interval (user + system), ms. */
  cpuMs: number;
  /** The same as % of one core. */
  cpuPercent: number;
  protocols: Record<string, ProtocolCounters>;
}

/** What the server did between two snapshots, or null when they do not follow on (the server restarted). */
export function between(prev: ServerStats, cur: ServerStats): Interval | null {
  const elapsedMs = cur.uptimeMs - prev.uptimeMs;
  const cpuMs = cur.cpuUserMs + cur.cpuSystemMs - (prev.cpuUserMs + prev.cpuSystemMs);
  if (elapsedMs <= 0 || cpuMs < 0) return null;
  const protocols: Record<string, ProtocolCounters> = {};
  for (const [name, now] of Object.entries(cur.protocols)) {
    const before = prev.protocols[name];
    const delta = Object.fromEntries(
      COUNTERS.map((k) => [k, now[k] - (before?.[k] ?? 0)]),
    ) as unknown as ProtocolCounters;
    if (COUNTERS.some((k) => delta[k] < 0)) return null;
    protocols[name] = delta;
  }
  return { cpuMs, cpuPercent: (100 * cpuMs) / elapsedMs, protocols };
}

/**
 * The monitor's k6 scenario beside `workload`, or null when the workload has no planned end
 * (a fixed number of iterations). One VU, one long iteration that polls until k6 cuts it off at
 * the workload's planned length: an iteration cut off is not counted in k6's `iterations`, so
 * the workload's iteration count stays its own. (It does add one VU to k6's `vus`.)
 */
export function monitorScenario(workload: string, executor: Executor) {
  if (!('stages' in executor)) return null;
  const plannedMs = executor.stages.reduce((sum, s) => sum + parseDuration('stage', s.duration), 0);
  return {
    executor: 'per-vu-iterations' as const,
    vus: 1,
    iterations: 1,
    maxDuration: formatDuration(plannedMs),
    gracefulStop: '0s',
    exec: 'monitor',
    tags: { role: 'monitor', workload },
  };
}
