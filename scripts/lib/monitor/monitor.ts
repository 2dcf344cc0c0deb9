// The server-cost monitor: a second k6 scenario beside every workload (scenarioOptions adds it;
// build.mjs exports `monitor` from every bundled scenario). It polls the servers' GET /stats
// every MONITOR_INTERVAL and records what the server spent into the rtb_server_* metrics, so
// server CPU, memory, event-loop lag, connections, messages and bytes land in the same run
// (same testid, same outputs) as what the client saw.
//   -e STATS_URL=http://host:8080/stats   where to poll (default: the local servers)
//   -e MONITOR_INTERVAL=1s                how often
//   -e MONITOR=off                        no monitor
// It stays apart from the workload: its scenario is rtb_monitor and its own samples (its HTTP
// requests, data_sent/received) carry role=monitor and workload=<scenario>; it never records
// rtb_latency/rtb_messages/... nor checks. Process-wide values (CPU, memory, lag) are tagged with
// the workload's `protocol`; per-protocol values with the server's protocol name.
// It also samples the generator's own cost (k6 CPU, RSS, GC pauses, VU event-loop lag, the
// machine's idle CPU) into rtb_generator_* (./generator.ts).
import http from 'k6/http';
import exec from 'k6/execution';
import { sleep } from 'k6';
import type { Generator } from 'k6/x/measure';
import { now } from './clock.ts';
import { envDuration } from '../load/env.ts';
import { STATS_URL } from '../transport/addresses.ts';
import {
  serverBytes,
  serverConnections,
  serverCpuPercent,
  serverCpuTime,
  serverHeap,
  serverLoopLag,
  serverMessages,
  serverRss,
} from './metrics.ts';
import { between } from './server-stats.ts';
import { recordGenerator } from './generator.ts';
import { isServerStats, type ServerStats } from '../../../contracts/stats.ts';
import { authHeaders } from '../transport/auth.ts';

// k6 provides console at run time; @types/k6 does not declare it.
declare const console: { warn(...args: unknown[]): void };

const INTERVAL_MS = envDuration('MONITOR_INTERVAL', '1s');
const RETRY_MS = 10_000; // after a failed poll; k6 logs each failed request, so keep them few

// Warn at most once, and only if no poll has worked yet: that is a wrong address, not the last
// poll racing the end of the run.
let mayWarn = true;

function poll(): ServerStats | null {
  const res = http.get(STATS_URL, { headers: authHeaders(), tags: { name: 'GET /stats' }, timeout: '5s' });
  let body: unknown = null;
  try {
    body = res.status === 200 ? res.json() : null;
  } catch {
    // not JSON: reported below
  }
  if (isServerStats(body)) {
    mayWarn = false;
    return body;
  }
  if (mayWarn) {
    mayWarn = false;
    const why = res.error || `HTTP ${res.status}${res.status === 200 ? ', not rtbench /stats JSON' : ''}`;
    console.warn(
      `rtb_monitor: no server stats from ${STATS_URL} (${why}): server-cost metrics will be missing. Set STATS_URL, or -e MONITOR=off.`,
    );
  }
  return null;
}

function record(
  cur: ServerStats,
  prev: ServerStats | null,
  processTags: Record<string, string>,
  active: Set<string>,
): void {
  serverRss.add(cur.rssBytes, processTags);
  serverHeap.add(cur.heapUsedBytes, processTags);
  for (const stat of ['mean', 'p99', 'max'] as const)
    serverLoopLag.add(cur.eventLoopLagMs[stat], { ...processTags, stat });
  const interval = prev && between(prev, cur);
  if (interval) {
    serverCpuPercent.add(interval.cpuPercent, processTags);
    serverCpuTime.add(interval.cpuMs, processTags);
  }
  for (const [protocol, now] of Object.entries(cur.protocols)) {
    const d = interval?.protocols[protocol];
    // Only protocols this run uses: those with connections or traffic since the monitor started.
    if (now.connections > 0 || (d && d.messagesIn + d.messagesOut > 0)) active.add(protocol);
    if (!active.has(protocol)) continue;
    serverConnections.add(now.connections, { protocol });
    if (!d) continue;
    serverMessages.add(d.messagesIn, { protocol, direction: 'in' });
    serverMessages.add(d.messagesOut, { protocol, direction: 'out' });
    serverBytes.add(d.bytesIn, { protocol, direction: 'in' });
    serverBytes.add(d.bytesOut, { protocol, direction: 'out' });
  }
}

export function monitor(): void {
  const workload = String(exec.vu.metrics.tags.workload ?? '');
  const protocol = exec.test.options.scenarios?.[workload]?.tags?.protocol;
  const processTags: Record<string, string> = protocol ? { protocol } : {};
  const active = new Set<string>();
  let prev: ServerStats | null = null;
  let generator: Generator | null = null;
  // No exit: k6 cuts this iteration off at the workload's planned end (see monitorScenario).
  for (;;) {
    const started = now();
    const cur = poll();
    if (cur) record(cur, prev, processTags, active);
    prev = cur;
    generator = recordGenerator(generator, processTags); // k6's own cost, even without server stats
    sleep(Math.max(0.01, (started + (cur ? INTERVAL_MS : RETRY_MS) - now()) / 1000));
  }
}
