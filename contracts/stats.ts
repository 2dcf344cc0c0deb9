// GET /stats: what each protocol costs the server, as servers/lib/stats.ts serves it and the k6
// server-cost monitor (scripts/lib/monitor/) reads it. Counters are cumulative next to a monotonic
// clock (`uptimeMs`), so a reader computes exact deltas between two snapshots. Pure: no k6 or
// Node APIs. The server may send more fields; these are the ones a reader may rely on.

export interface ProtocolCounters {
  messagesIn: number;
  messagesOut: number;
  /** Message payload bytes as the protocol's message layer sees them, not framing. */
  bytesIn: number;
  bytesOut: number;
}

export interface ServerStats {
  /** Monotonic ms since the process started. */
  uptimeMs: number;
  /** CPU time used since the process started, ms (1000 per second = one core busy). */
  cpuUserMs: number;
  cpuSystemMs: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Event-loop lag over the last completed window, ms. */
  eventLoopLagMs: { mean: number; p99: number; max: number };
  protocols: Record<string, ProtocolCounters & { connections: number }>;
}

export const COUNTERS = ['messagesIn', 'messagesOut', 'bytesIn', 'bytesOut'] as const;

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** True when `v` has every field of ServerStats with a finite number where one belongs. */
export function isServerStats(v: unknown): v is ServerStats {
  if (!isObject(v)) return false;
  const s = v as unknown as ServerStats;
  const lag = s.eventLoopLagMs;
  return (
    [s.uptimeMs, s.cpuUserMs, s.cpuSystemMs, s.rssBytes, s.heapUsedBytes].every(isNum) &&
    isObject(lag) &&
    [lag.mean, lag.p99, lag.max].every(isNum) &&
    isObject(s.protocols) &&
    Object.values(s.protocols).every((p) => isObject(p) && isNum(p.connections) && COUNTERS.every((k) => isNum(p[k])))
  );
}
