// The hold workload (capacity), shared by ws-hold, sse-hold, socketio-hold, grpc-hold and
// grpc-ws-hold: CONNS long-lived connections in total, PER_VU of them on each VU's event loop,
// opened one after another at CONNECT_RATE per second across the whole test, each on a stream
// of its own (a feed channel, or a SubscribeOrders call) that pushes MSG_RATE messages/s of
// PAYLOAD_BYTES; every connection stays until the last one has opened and HOLD has passed, then
// closes. Per message: delivery latency (server stamp → the client's read time, one host's clock,
// measure=oneway; tagged phase=ramp until the last connection is due, then phase=hold, the SLO's
// window), losses (gaps in the sequence), duplicates; per connection: connect time, connect
// failures and protocol errors (rtb_errors), and checks that it kept receiving to the end.
// The scenario passes `open`, how one connection is made on its transport.
//   -e CONNS=1000 -e PER_VU=100 -e CONNECT_RATE=500 -e HOLD=30s -e MSG_RATE=1 -e PAYLOAD_BYTES=64 -e SLO=250ms
import http from 'k6/http';
import { check } from 'k6';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'k6/timers';
import exec from 'k6/execution';
import { envCount, envDuration } from '../load/env.ts';
import { formatDuration } from '../load/settings.ts';
import { connections, errors } from '../monitor/metrics.ts';
import type { ScenarioDefaults } from '../load/options.ts';
import type { ChannelSpec } from '../../../contracts/feed.ts';
import { Subscription } from './feed.ts';
import { b64encode } from 'k6/encoding';
import { patternBytes } from '../../../contracts/payload.ts';
import { authHeaders } from '../transport/auth.ts';
import { recordGenerator } from '../monitor/generator.ts';
import { reconnectDelay } from '../transport/backoff.ts';

export const hold = {
  conns: envCount('CONNS', 200, { min: 1, max: 100_000 }),
  perVu: envCount('PER_VU', 100, { min: 1, max: 20_000 }),
  connectRate: envCount('CONNECT_RATE', 500, { min: 1, max: 100_000 }),
  holdMs: envDuration('HOLD', '20s'),
  rate: envCount('MSG_RATE', 1, { min: 1, max: 100 }),
  bytes: envCount('PAYLOAD_BYTES', 64, { min: 0, max: 64 * 1024 }),
  /** The delivery SLO: p(99) of rtb_latency must stay under it. */
  sloMs: envDuration('SLO', '250ms'),
  /**
   * A reconnect storm: this long after the last connection is due, the server cuts every
   * connection at once (POST /feed/drop?all=true, gRPC's /grpc/drop); each reconnects and resumes. `external`: the
   * storm comes from outside (npm run capacity -- --storm cuts them once the server holds every
   * one), the scenario only expects it. Unset: no storm.
   */
  stormAtMs: __ENV.STORM_AT && __ENV.STORM_AT !== 'external' ? envDuration('STORM_AT', '0s') : null,
  stormExternal: __ENV.STORM_AT === 'external',
};
/** Whether every connection is cut once during the hold (by the scenario or from outside). */
export const stormExpected = hold.stormAtMs !== null || hold.stormExternal;

/** VUs the connections are spread over. */
export const holdVus = Math.ceil(hold.conns / hold.perVu);
/** From the start until the last connection is due to open. */
export const rampMs = Math.ceil((hold.conns * 1000) / hold.connectRate);
/** Time a connection may take to close after the hold, and k6's margin after that. */
const CLOSE_GRACE_MS = 15_000;

/**
 * One iteration per VU; tags say `pattern: hold` (`storm` with STORM_AT). Every hold transport
 * resumes after a storm: the feed's ws, sse and socketio after their last sequence number, gRPC
 * and the bridge with SubscribeOrders' after_seq.
 */
export function holdScenario(protocol: string): ScenarioDefaults {
  if (hold.stormAtMs !== null && hold.stormAtMs >= hold.holdMs)
    throw new Error(`STORM_AT: '${__ENV.STORM_AT}' must be shorter than HOLD ('${__ENV.HOLD ?? '20s'}')`);
  const storm = stormExpected;
  return {
    vus: holdVus,
    iterations: holdVus,
    duration: formatDuration(rampMs + hold.holdMs + 2 * CLOSE_GRACE_MS + 30_000),
    tags: { protocol, pattern: storm ? 'storm' : 'hold', payload: `${hold.bytes}B`, measure: 'oneway' },
    thresholds: {
      checks: ['rate==1'],
      // in a storm, messages replayed after the reconnect carry their first send time: no SLO
      // the SLO is for the hold window: while connections still open, handshakes compete with delivery
      ...(storm ? { rtb_recovery_time: [] } : { 'rtb_latency{phase:hold}': [`p(99)<${hold.sloMs}`] }),
      rtb_lost: ['count==0'],
      rtb_errors: ['count==0'],
    },
  };
}

/** One connection of the hold, as the transport wiring sees it. */
export class Held {
  readonly sub = new Subscription(undefined, true);
  constructor(
    /** 0 … CONNS-1, in the order connections open across the test. */
    readonly index: number,
    /** When this connection should close (Date.now() clock). */
    readonly closeAt: number,
    private readonly onEnd: (conn: Held) => void,
    /** When the hold window starts: the last connection is due (latencies tagged phase=ramp before, hold after). */
    holdFrom: number,
  ) {
    this.sub.holdFrom = holdFrom;
  }

  private done = false;
  private guardTimer: ReturnType<typeof setTimeout> | undefined;

  get isEnded(): boolean {
    return this.done;
  }

  /** The connection is over (called once; later calls are ignored). */
  ended(): void {
    if (this.done) return;
    this.done = true;
    if (this.guardTimer !== undefined) clearTimeout(this.guardTimer);
    this.onEnd(this);
  }

  /** A stream that ends by itself did not end in time: an error, and it ends. */
  timedOut(): void {
    errors.add(1, { reason: 'stream did not end in time' });
    this.ended();
  }

  /** For a stream that ends by itself: if it has not ended within `ms`, it times out. */
  guard(ms: number): void {
    this.guardTimer = setTimeout(() => this.timedOut(), ms);
  }

  /** Messages still due before closeAt at MSG_RATE, the first one at once (a SubscribeOrders `count`). */
  messagesDue(): number {
    return Math.max(1, Math.floor(((this.closeAt - Date.now()) * hold.rate) / 1000) + 1);
  }

  /** The connection could not be made at all. */
  failed(reason: string): void {
    errors.add(1, { reason: `connect failed: ${reason}`.slice(0, 120) });
  }

  /** Checks at the end: messages arrived, none lost or twice, and they kept coming until the end. */
  finish(endedAt: number): void {
    this.sub.finish(false);
    // a storm cuts every connection open at the time (the storm's own check says it cut them all)
    if (stormExpected) check(this.sub, { 'back and receiving after the storm': (s) => !s.down });
    const quietMs = endedAt - this.sub.lastReadAt;
    check(this.sub, {
      // the last message is due within one interval of the end, and may take up to the SLO to arrive
      'kept receiving until the end': (s) => s.lastReadAt > 0 && quietMs <= 1000 / hold.rate + hold.sloMs + 1000,
    });
  }
}

/**
 * How one connection is made on a transport. It returns how to close it at the end of the hold,
 * or nothing for a stream that ends by itself (a SubscribeOrders call of messagesDue()): then it
 * calls `conn.ended()` when the stream has ended.
 */
export type OpenHeld = (conn: Held) => { close(): void } | void;

/** What a SubscribeOrders stream carries, as k6's protojson shapes it (uint64 as a string, bytes as base64). */
export interface StreamedOrder {
  seq: string;
  serverSendMs: number;
  note: string;
}

// The order stream's note is PAYLOAD_BYTES of the shared pattern, compared as base64.
const NOTE_B64 = b64encode(patternBytes(hold.bytes));

/**
 * A hold connection on a SubscribeOrders stream (grpc-hold, grpc-ws-hold): one order now, then
 * one every 1/MSG_RATE s until closeAt (the count is fixed at the first opening). The transport
 * wiring `open`s a call with `request()`, passes each order to `arrived` and the call's end to
 * `ended`. In a storm the server cuts every call (POST /grpc/drop: UNAVAILABLE); a cut call is
 * opened again after a backoff with jitter (backoff.ts), its request resuming after the last
 * order read (`after_seq`), so nothing is lost. One object per connection and one `open` per
 * scenario: no closure per connection.
 */
export class OrderStream {
  private readonly filter: { count: number; intervalMs: number; noteBytes: number };
  /** The last order read when the current call was opened. */
  private from = 0;
  /** Calls in a row cut before an order came. */
  private attempt = 0;
  /** The current call is the first (rtb_connect_time is the first opening's). */
  first = true;

  constructor(
    readonly conn: Held,
    private readonly open: (s: OrderStream) => void,
  ) {
    this.filter = { count: conn.messagesDue(), intervalMs: Math.floor(1000 / hold.rate), noteBytes: hold.bytes };
    open(this);
  }

  /** The SubscribeOrders request for the call being opened. */
  request() {
    this.from = this.conn.sub.lastSeq;
    return { ...this.filter, afterSeq: this.from };
  }

  /**
   * One order read at `atMs`. gRPC hands the script only Date.now() (whole ms, `wholeMs`): the
   * stamp is floored to the same grid, as in grpc-server-stream.
   */
  arrived(order: StreamedOrder, atMs: number, wholeMs: boolean): void {
    const sent = wholeMs ? Math.floor(order.serverSendMs) : order.serverSendMs;
    this.conn.sub.arrived(Number(order.seq), sent, atMs, order.note === NOTE_B64, hold.bytes);
  }

  /** The call ended at `atMs`; `cut`: the server cut it (UNAVAILABLE). */
  ended(cut: boolean, atMs: number): void {
    // a cut after the last order, before the stream's end, leaves nothing to resume
    if (!stormExpected || !cut || this.conn.isEnded || this.conn.sub.lastSeq >= this.filter.count)
      return this.conn.ended();
    this.conn.sub.disconnected(atMs);
    this.attempt = this.conn.sub.lastSeq > this.from ? 0 : this.attempt + 1;
    this.first = false;
    setTimeout(this.open, reconnectDelay(this.attempt), this);
  }
}

/** gRPC's reconnect storm, on the servers' HTTP port beside `statsUrl`: every SubscribeOrders call cut at once. */
export const grpcDropUrl = (statsUrl: string) => statsUrl.replace(/\/stats$/, '/grpc/drop');

/** The feed channel of connection `index`. */
const holdChannel = (index: number) => `hold-r${hold.rate}-b${hold.bytes}-${index}`;

/** Declarations sent at once in setup (k6's http.batch, a few connections to the host). */
const DECLARE_BATCH = 200;

/**
 * setup(): declares the feed channel of every connection (idempotent: a later run reuses them),
 * before any connection opens. Declaring each channel as its connection opened put one more HTTP
 * request beside every handshake: at 10,000 connections the busy server reset 400 of those
 * requests and let 288 time out, and their connections never opened. A declaration that fails in
 * transport (status 0) is sent again, up to 3 times; any other failure stops the test.
 */
export function declareHoldChannels(origin: string): void {
  const params = {
    headers: { 'content-type': 'application/json', ...authHeaders() },
    tags: { control: 'feed' },
  };
  for (let from = 0; from < hold.conns; from += DECLARE_BATCH) {
    let todo = Array.from({ length: Math.min(DECLARE_BATCH, hold.conns - from) }, (_, i) => from + i);
    for (let attempt = 0; todo.length > 0; attempt++) {
      const specs = todo.map((k): ChannelSpec => ({ name: holdChannel(k), rate: hold.rate, bytes: hold.bytes }));
      const res = http.batch(
        specs.map((spec) => ['POST', `${origin}/feed/channels`, JSON.stringify(spec), params] as const),
      );
      const failed = res.flatMap((r, i) => (r.status === 200 || r.status === 201 ? [] : [{ r, k: todo[i]! }]));
      const fatal = failed.find(({ r }) => r.status !== 0 || attempt >= 2);
      if (fatal)
        throw new Error(
          `declaring channel ${holdChannel(fatal.k)}: HTTP ${fatal.r.status} ${String(fatal.r.error || fatal.r.body).slice(0, 120)}`,
        );
      todo = failed.map(({ k }) => k);
    }
  }
}

/** How a feed connection subscribes: `subscribeWs`, `subscribeSse`, … with the scenario's address. */
export type SubscribeHeld = (channel: string, sub: Subscription) => { close(): void };

/**
 * A hold connection on the push feed: subscribes with `subscribe` to connection `conn`'s channel
 * (declared in setup). `subscribe` is one function per scenario, not one per connection: every
 * closure made per connection is k6 memory for as long as the connection is held.
 */
export function onFeedChannel(conn: Held, subscribe: SubscribeHeld): { close(): void } {
  return subscribe(holdChannel(conn.index), conn.sub);
}

/** The feed's reconnect storm at `origin`: every subscriber of every channel cut at once. */
export const feedDropUrl = (origin: string) => `${origin}/feed/drop?all=true`;

/**
 * One iteration of the hold: this VU opens its share of the connections at its share of
 * CONNECT_RATE (VU i opens connections i-1, i-1+VUs, …, so the whole test opens them evenly),
 * and closes every one HOLD after the last is due; the promise resolves when all are closed.
 * With STORM_AT, the first VU has the server cut every connection at that time (POST `dropUrl`).
 * One timer opens the connections as they fall due and one closes them all (not two timers and
 * closures per connection).
 */
export function holdWindow(open: OpenHeld, dropUrl?: string): Promise<void> {
  const vu = exec.vu.idInTest - 1;
  const started = Date.now();
  const closeAt = started + rampMs + hold.holdMs;
  if (vu === 0 && hold.stormAtMs !== null && dropUrl) setTimeout(() => storm(dropUrl), rampMs + hold.stormAtMs);
  const count = vu < hold.conns ? Math.ceil((hold.conns - vu) / holdVus) : 0;
  const dueAt = (i: number) => started + ((vu + i * holdVus) * 1000) / hold.connectRate;
  return new Promise((resolve) => {
    let left = count;
    if (left === 0) return resolve();
    const timers: Array<ReturnType<typeof setTimeout>> = [];
    // the generator's own cost, sampled on the first VU of each k6 process while it holds
    // connections (the monitor scenario needs a planned length; a hold ends when its connections do)
    const sampling = exec.vu.idInInstance === 1;
    let generatorAt = sampling ? recordGenerator(null, {}) : null;
    const sampler = sampling ? setInterval(() => (generatorAt = recordGenerator(generatorAt, {})), 1000) : null;
    const onEnd = (conn: Held) => {
      conn.finish(Date.now());
      if (--left > 0) return;
      for (const t of timers) clearTimeout(t); // every connection ended: nothing left to close or guard
      if (sampler !== null) clearInterval(sampler);
      resolve();
    };
    const closable: Array<{ conn: Held; handle: { close(): void } }> = [];
    const streams: Held[] = []; // streams that end by themselves
    let closed = false;
    let guarded = false;
    const openOne = (i: number) => {
      connections.add(1);
      const conn = new Held(vu + i * holdVus, closeAt, onEnd, started + rampMs);
      const handle = open(conn);
      if (handle && closed) {
        // opened after the end was due (a lagging loop): closed at once
        handle.close();
        conn.ended();
      } else if (handle) closable.push({ conn, handle });
      else if (guarded) conn.guard(CLOSE_GRACE_MS);
      else streams.push(conn);
    };
    let next = 0;
    const openDue = () => {
      for (const now = Date.now(); next < count && dueAt(next) <= now; next++) openOne(next);
      if (next < count) setTimeout(openDue, Math.max(0, dueAt(next) - Date.now()));
    };
    openDue();
    timers.push(
      setTimeout(() => {
        closed = true;
        for (const { conn, handle } of closable) {
          handle.close();
          conn.ended();
        }
        closable.length = 0;
      }, closeAt - Date.now()),
    );
    timers.push(
      setTimeout(
        () => {
          guarded = true;
          for (const conn of streams) if (!conn.isEnded) conn.timedOut();
          streams.length = 0;
        },
        closeAt - Date.now() + CLOSE_GRACE_MS,
      ),
    );
  });
}

/** The reconnect storm: the server cuts every connection at once (POST `dropUrl`); checks it cut them all. */
function storm(dropUrl: string): void {
  http
    .asyncRequest('POST', dropUrl, '{}', {
      headers: { 'content-type': 'application/json', ...authHeaders() },
      tags: { control: 'feed' },
    })
    .then((res) => {
      const dropped = res.status === 200 ? Number((res.json() as { dropped?: number }).dropped) : -1;
      check(dropped, { 'storm: the server cut every connection at once': (n) => n >= hold.conns });
    });
}
