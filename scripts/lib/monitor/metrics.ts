// The metrics every scenario reports, whatever the protocol. A protocol, pattern, payload or
// mode is a tag (set once per scenario in its options), never part of a metric name, so one
// Grafana query or report row compares protocols.
import { Counter, Gauge, Trend } from 'k6/metrics';

/**
 * Per-message latency in ms. How it was taken is the `measure` tag:
 *   rtt     — client send → the client has the reply (WebSocket: the message event's
 *             `timestamp`, taken when k6 read the frame; gRPC: when the response reaches the script)
 *   oneway  — server send stamp → client read, on one host's clock
 */
export const latency = new Trend('rtb_latency', true);

/**
 * Open-loop latency, for workloads sent on a schedule (a server stream with an interval, a feed
 * at a rate): the same arrival as rtb_latency, measured from when the message was due by the
 * schedule rather than from when it was actually sent, so a sender that stalls cannot hide its
 * stall (wrk2's correction for coordinated omission). Only paced workloads record it.
 */
export const latencyIntended = new Trend('rtb_latency_intended', true);

/** How late the sender was against its schedule: actual send stamp − due time, ms (paced workloads). */
export const lateSend = new Trend('rtb_late_send', true);

/** Time for a whole batch (e.g. N images): first send → last reply, in ms. */
export const batchTime = new Trend('rtb_batch_time', true);

/**
 * Round trips one client completed in one iteration's window (the echo workload: how many echoes come
 * back in 5 s on one connection). One sample per iteration, so with one iteration per VU its
 * min / avg / max are the per-client min / mean / max of a multi-client run.
 */
export const roundTrips = new Trend('rtb_round_trips');

/** Messages delivered and verified (an image acknowledged with a matching digest, an echo equal to what was sent, …). */
export const delivered = new Counter('rtb_messages');

/** Application payload bytes in those messages (not counting protocol framing). */
export const payloadBytes = new Counter('rtb_payload_bytes');

/** Connection set-up time in ms (TCP + handshake up to the first usable moment). */
export const connectTime = new Trend('rtb_connect_time', true);

/**
 * Connection churn: from the start of connecting to the first message read on the new connection
 * (connect, subscribe, the server's first push), in ms; one sample per connection that got one.
 */
export const firstMessageTime = new Trend('rtb_first_message_time', true);

/** Connections a workload set out to open (the hold workload's denominator for its error rate). */
export const connections = new Counter('rtb_connections');

/** Messages missing from a sequence (gaps in the sequence numbers a subscriber saw). */
export const lost = new Counter('rtb_lost');

/** Messages a subscriber received more than once. */
export const duplicates = new Counter('rtb_duplicates');

/** After a dropped connection: connection lost → first message received again, in ms. */
export const recoveryTime = new Trend('rtb_recovery_time', true);

/**
 * A subscriber's stream resumed after a lost connection; `via` says how: `recovery` (Socket.IO's
 * connection state recovery restored the session) or `resubscribe` (subscribed again after the
 * last sequence number). Socket.IO's feed counts it.
 */
export const resumes = new Counter('rtb_resumes');

const errorCount = new Counter('rtb_errors');
/** Reasons this VU has logged (module state is per VU). */
const loggedReasons = new Set<string>();
/** Distinct reasons a VU logs; later new ones are only counted. */
const LOGGED_REASONS = 20;

/**
 * Protocol-level failures, tagged with `reason` (close code, gRPC status, timeout). k6's summary
 * shows only the total, so the first of each reason in a VU is also logged (k6's log, the
 * capacity harness's k6.log): a count in a summary can be traced to its causes.
 */
export const errors = {
  add(value: number, tags: { reason: string } & Record<string, string>): void {
    errorCount.add(value, tags);
    if (loggedReasons.has(tags.reason) || loggedReasons.size >= LOGGED_REASONS) return;
    loggedReasons.add(tags.reason);
    console.warn(`rtb_errors: ${tags.reason}`);
  },
};

// Server-side cost, sampled from the servers' GET /stats by the monitor scenario
// (scripts/lib/monitor.ts), never by a workload. Process-wide values carry the workload's
// `protocol` tag; per-protocol values the server's protocol name and, for traffic, `direction`
// (in = received by the server, out = sent by it).

/** Server CPU (user + system) over each sampling interval, % of one core. */
export const serverCpuPercent = new Gauge('rtb_server_cpu_percent');

/** Server CPU time used in each sampling interval, ms: its sum is the run's CPU cost. */
export const serverCpuTime = new Counter('rtb_server_cpu_time', true);

/** Server resident set size, bytes. */
export const serverRss = new Gauge('rtb_server_rss_bytes');

/** Server V8 heap in use, bytes. */
export const serverHeap = new Gauge('rtb_server_heap_bytes');

/** Server event-loop delay over its last 1 s window, ms; the `stat` tag is mean, p99 or max. */
export const serverLoopLag = new Gauge('rtb_server_loop_lag_ms');

/** Connections the server holds open, per protocol. */
export const serverConnections = new Gauge('rtb_server_connections');

/** Messages the server received/sent in each sampling interval, per protocol and direction. */
export const serverMessages = new Counter('rtb_server_messages');

/** Message payload bytes the server received/sent in each sampling interval (framing not counted). */
export const serverBytes = new Counter('rtb_server_bytes');
