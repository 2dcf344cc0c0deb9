// The churn workload (capacity), shared by ws-churn, sse-churn, socketio-churn, grpc-churn and
// grpc-ws-churn: new connections at CONNECT_RATE per second for WINDOW, each one iteration that
// connects, subscribes, waits for the first message the server pushes, closes, and ends when the
// connection has closed. The arrivals are open-model (k6's ramping-arrival-rate held at the rate):
// a slow server cannot slow them down; a connection that finds no free VU (VUS allocated up front,
// MAX_VUS at most) is k6's `dropped_iterations`. Per connection: rtb_connections (every attempt),
// rtb_connect_time (the transport's own: TCP + handshake to its first usable moment),
// rtb_first_message_time (start of connecting → the first message read), rtb_errors with a reason.
// The feed transports subscribe to one shared on-demand channel holding one message and ask to
// resume after 0, so the server pushes exactly that message at once (seq 1, PAYLOAD_BYTES);
// gRPC and the bridge ask SubscribeOrders for one order, which the server sends at once.
//   -e CONNECT_RATE=200 -e WINDOW=10s -e VUS=20 -e MAX_VUS=200 -e PAYLOAD_BYTES=64 -e FIRST_MESSAGE_TIMEOUT=5s
import http from 'k6/http';
import { check } from 'k6';
import { clearTimeout, setTimeout } from 'k6/timers';
import { envCount, envDuration } from '../load/env.ts';
import { formatDuration } from '../load/settings.ts';
import { now } from '../monitor/clock.ts';
import { connections, errors, firstMessageTime } from '../monitor/metrics.ts';
import type { ScenarioDefaults } from '../load/options.ts';
import type { ChannelSpec } from '../../../contracts/feed.ts';
import { b64encode } from 'k6/encoding';
import { patternBytes } from '../../../contracts/payload.ts';
import { authHeaders } from '../transport/auth.ts';

export const churn = {
  rate: envCount('CONNECT_RATE', 100, { min: 1, max: 100_000 }),
  windowMs: envDuration('WINDOW', '10s'),
  bytes: envCount('PAYLOAD_BYTES', 64, { min: 0, max: 64 * 1024 }),
  /** A connection without its first message this long after it started counts as failed and is closed. */
  timeoutMs: envDuration('FIRST_MESSAGE_TIMEOUT', '5s'),
};

/** The feed channel every churned connection subscribes to: on demand (rate 0), one message published in setup. */
export const CHURN_CHANNEL = `churn-b${churn.bytes}`;

/**
 * The open model at CONNECT_RATE from the first moment to the end of WINDOW (a 0 s stage jumps to
 * the rate). VUs up front: enough for every connection to live 250 ms (at least 20; k6 starting
 * VUs mid-run is slow on a busy machine); at most enough for 1 s each. Override with VUS / MAX_VUS.
 */
export function churnScenario(protocol: string): ScenarioDefaults {
  return {
    model: 'open',
    stages: [
      { duration: '0s', target: churn.rate },
      { duration: formatDuration(churn.windowMs), target: churn.rate },
    ],
    vus: Math.max(20, Math.ceil(churn.rate / 4)),
    maxVUs: Math.max(20, churn.rate),
    tags: { protocol, pattern: 'churn', payload: `${churn.bytes}B`, measure: 'connect' },
    thresholds: {
      checks: ['rate==1'],
      rtb_errors: ['count==0'],
      rtb_first_message_time: [],
      dropped_iterations: [],
    },
  };
}

/** setup(): declares the churn channel (idempotent) and, if it holds nothing yet, publishes its one message. */
export function churnChannel(origin: string): void {
  const params = { headers: { 'content-type': 'application/json', ...authHeaders() }, tags: { control: 'feed' } };
  const spec: ChannelSpec = { name: CHURN_CHANNEL, rate: 0, bytes: churn.bytes };
  const res = http.post(`${origin}/feed/channels`, JSON.stringify(spec), params);
  if (res.status !== 200 && res.status !== 201)
    throw new Error(`declaring channel ${spec.name}: HTTP ${res.status} ${String(res.body)}`);
  // a channel declared before (201 → new) already has message 1: resuming after 0 replays it
  if (res.status === 201) {
    const pub = http.post(`${origin}/feed/publish?channel=${CHURN_CHANNEL}`, '{}', params);
    if (pub.status !== 200) throw new Error(`publishing on ${CHURN_CHANNEL}: HTTP ${pub.status} ${String(pub.body)}`);
  }
}

const NOTE_B64 = b64encode(patternBytes(churn.bytes));

/** One churned connection, as the transport wiring sees it. */
export class Churned {
  /** now() when connecting started (the clock of the transports' event timestamps). */
  readonly startedAt = now();
  private gotFirst = false;
  private over = false;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly resolve: () => void,
    /** Closes the connection (the transport's close). */
    private readonly abort: () => void,
  ) {
    connections.add(1);
    this.timer = setTimeout(() => {
      errors.add(1, { reason: `no first message within ${formatDuration(churn.timeoutMs)}` });
      this.abort();
      this.closed();
    }, churn.timeoutMs);
  }

  /** The first message arrived at `atMs`: `seq` and `intact` say it was the one the server holds. */
  first(seq: number, intact: boolean, atMs: number): void {
    if (this.gotFirst) return;
    this.gotFirst = true;
    firstMessageTime.add(atMs - this.startedAt);
    check(seq, { 'first message is the one the server pushes, intact': (s) => s === 1 && intact });
  }

  /** A feed message (FeedMessage body). */
  feedMessage(msg: { seq: number; p: string }, atMs: number): void {
    this.first(msg.seq, msg.p.length === churn.bytes, atMs);
  }

  /** A SubscribeOrders order (seq as k6's protojson string, note as base64). */
  order(order: { seq: string; note: string }, atMs: number): void {
    this.first(Number(order.seq), order.note === NOTE_B64, atMs);
  }

  /** Connecting failed before any message: counted in rtb_errors. */
  failed(reason: string): void {
    errors.add(1, { reason: `connect failed: ${reason}`.slice(0, 120) });
  }

  /** The connection is closed (later calls are ignored); the iteration ends. */
  closed(): void {
    if (this.over) return;
    this.over = true;
    clearTimeout(this.timer);
    this.resolve();
  }
}

/**
 * One iteration: one connection made with `open`, which wires the transport to `conn` and returns
 * how to close it; the promise resolves when `conn.closed()` was called (or the first message did
 * not come within FIRST_MESSAGE_TIMEOUT).
 */
export function churnOnce(open: (conn: Churned) => { close(): void }): Promise<void> {
  return new Promise((resolve) => {
    let handle: { close(): void } | undefined;
    const conn = new Churned(resolve, () => handle?.close());
    handle = open(conn);
  });
}

/** The SubscribeOrders request of a churned gRPC or bridge call: one order, at once. */
export const ONE_ORDER = { count: 1, intervalMs: 1000, noteBytes: churn.bytes };
