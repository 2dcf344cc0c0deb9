// What each protocol costs the server: connections, messages and bytes per protocol, plus the
// process's CPU, memory and event-loop lag. Served as JSON at GET /stats.
//
// Everything a reader turns into a rate is a cumulative counter (CPU time, messages, bytes) next
// to a monotonic clock (`uptimeMs`), so any number of readers can poll at their own pace and
// compute exact deltas between two snapshots; no reader disturbs another. Event-loop lag is a
// distribution, not a counter: it is taken over fixed windows and a snapshot reports the last
// completed window, again the same for every reader.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ServerStats } from '../../contracts/stats.ts';

export class ProtocolStats {
  connections = 0;
  connectionsTotal = 0;
  messagesIn = 0;
  messagesOut = 0;
  /** Message payload bytes as the protocol's message layer sees them (WebSocket frame data, protobuf messages), not framing. */
  bytesIn = 0;
  bytesOut = 0;
  errors = 0;
  private openNow?: () => number;

  opened(): void {
    this.connections++;
    this.connectionsTotal++;
  }
  closed(): void {
    this.connections--;
  }
  received(bytes: number): void {
    this.messagesIn++;
    this.bytesIn += bytes;
  }
  sent(bytes: number): void {
    this.messagesOut++;
    this.bytesOut += bytes;
  }

  /**
   * For a server that cannot see connections open and close (grpc-js): `count` is asked for the
   * open connections at snapshot time, and the total opened is unknown (null).
   */
  connectionsFrom(count: () => number): void {
    this.openNow = count;
  }

  toJSON() {
    const { openNow, ...counters } = this;
    return openNow ? { ...counters, connections: openNow(), connectionsTotal: null } : counters;
  }
}

const protocols = new Map<string, ProtocolStats>();

export function statsFor(protocol: string): ProtocolStats {
  let s = protocols.get(protocol);
  if (!s) protocols.set(protocol, (s = new ProtocolStats()));
  return s;
}

export const LAG_WINDOW_MS = 1000;

interface Lag {
  mean: number;
  p99: number;
  max: number;
  windowMs: number;
}

const RESOLUTION_MS = 10;
const loopDelay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
loopDelay.enable();
let lastLag: Lag = { mean: 0, p99: 0, max: 0, windowMs: LAG_WINDOW_MS };
setInterval(() => {
  // The histogram holds the time between its timer's ticks, sampling interval included: the lag
  // is what exceeds the interval. An empty histogram has a NaN mean; report that window as 0.
  const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  lastLag = {
    mean: Number.isNaN(loopDelay.mean) ? 0 : ms(loopDelay.mean),
    p99: ms(loopDelay.percentile(99)),
    max: ms(loopDelay.max),
    windowMs: LAG_WINDOW_MS,
  };
  loopDelay.reset();
}, LAG_WINDOW_MS).unref();

/** GET /stats: the shape every reader relies on (contracts/stats.ts) and a few fields more. */
export interface StatsSnapshot extends ServerStats {
  /** Wall clock, ms since the epoch. */
  time: number;
  /** Event-loop lag (a timer firing late) over the last completed window of `windowMs`, ms. */
  eventLoopLagMs: Lag;
  /** The resource bounds in force (the same as --help lists), and whether a token is required. */
  limits: Record<string, number | boolean>;
  protocols: Record<string, ProtocolStats>;
}

let limits: Record<string, number | boolean> = {};
/** Publishes the bounds in force in every snapshot. */
export function setLimits(values: Record<string, number | boolean>): void {
  limits = { ...values };
}

/**
 * With `collect`, a full garbage collection first, so `heapUsedBytes` is what is live: only when
 * node runs with --expose-gc (the tests' memory bounds, test/servers/held-memory.test.ts), else
 * ignored, so no client can make a normal server collect on demand.
 */
export function snapshot({ collect = false } = {}): StatsSnapshot {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (collect && typeof gc === 'function') gc();
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return {
    time: Date.now(),
    uptimeMs: performance.now(),
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    eventLoopLagMs: lastLag,
    limits,
    protocols: Object.fromEntries(protocols),
  };
}
