// The feed workload (server push), shared by sse-feed and ws-feed: the run's settings, the channel
// the server publishes on (declared over HTTP), a tracker per subscriber that turns received
// messages into delivery latency, delivered counts, gaps (loss), duplicates and recovery time,
// and feedWindow, one iteration whatever the transport: the scenario passes how to subscribe.
//
// Every message is a FeedMessage (contracts/feed.ts): t is the server's send time; delivery latency is
// the client's read time (the event's `timestamp`, taken by k6 as it read the bytes) − t, both
// on this host's clock (measure=oneway): valid only when k6 and the server share a clock.
import http from 'k6/http';
import { check } from 'k6';
import { setTimeout } from 'k6/timers';
import exec from 'k6/execution';
import { envChoice, envCount, envDuration, envString } from '../load/env.ts';
import {
  batchTime,
  delivered,
  duplicates,
  errors,
  latency,
  latencyIntended,
  lateSend,
  lost,
  payloadBytes,
  recoveryTime,
} from '../monitor/metrics.ts';
import type { Thresholds } from '../load/config.ts';
import type { ChannelSpec, FeedMessage, ResetInfo } from '../../../contracts/feed.ts';
import { authHeaders } from '../transport/auth.ts';

export type { FeedMessage } from '../../../contracts/feed.ts';

export const FEED_MODES = ['normal', 'fanout', 'drop'] as const;
export type FeedMode = (typeof FEED_MODES)[number];

/** -e MODE=normal|fanout|drop MSG_RATE=10 PAYLOAD_BYTES=64 WINDOW=10s SUBSCRIBERS=10 DROP_AFTER=… */
export const feed = {
  mode: envChoice<FeedMode>('MODE', 'normal', FEED_MODES),
  rate: envCount('MSG_RATE', 10, { min: 1, max: 10_000 }),
  bytes: envCount('PAYLOAD_BYTES', 64, { min: 0, max: 1024 * 1024 }),
  windowMs: envDuration('WINDOW', '10s'),
  /** fan-out mode: subscribers held by each VU, all on one channel */
  subscribers: envCount('SUBSCRIBERS', 10, { min: 1, max: 10_000 }),
  /**
   * A fault schedule the harness applies through toxiproxy (tools/network.mjs), e.g.
   * outage@5s:2s: every stream must then recover, and replayed messages arrive late by design.
   */
  fault: envString('FAULT', ''),
};
/** drop mode: when the server cuts every connection, from the start of the window */
export const dropAfterMs = envDuration('DROP_AFTER', `${Math.round(feed.windowMs / 2)}ms`);

export function feedScenario(protocol: string) {
  const thresholds: Thresholds = {
    checks: ['rate==1'],
    rtb_lost: ['count==0'],
    rtb_duplicates: ['count==0'],
  };
  if (!feed.fault) thresholds.rtb_latency = ['p(95)<1000'];
  return {
    tags: {
      protocol,
      pattern: feed.mode === 'fanout' ? 'fanout' : 'push',
      payload: `${feed.bytes}B`,
      mode: feed.mode,
      measure: 'oneway',
    },
    thresholds,
  };
}

/** http://host:port of a ws://, wss://, http:// or https:// URL. */
export function httpOrigin(url: string): string {
  const m = /^(ws|http)(s?):\/\/([^/]+)/.exec(url);
  if (!m) throw new Error(`not a ws:// or http:// URL: '${url}'`);
  return `http${m[2]}://${m[3]}`;
}

const CONTROL = { tags: { control: 'feed' } };

/** Declares this VU's channel (idempotent) and returns its name. Fan-out and normal use one channel per VU. */
export function declareChannel(origin: string, protocol: string): string {
  const name = `${protocol}-${feed.mode}-r${feed.rate}-b${feed.bytes}-vu${exec.vu.idInTest}`;
  const spec: ChannelSpec = { name, rate: feed.rate, bytes: feed.bytes };
  const res = http.post(`${origin}/feed/channels`, JSON.stringify(spec), {
    ...CONTROL,
    headers: { 'content-type': 'application/json', ...authHeaders() },
  });
  if (res.status !== 200 && res.status !== 201)
    throw new Error(`declaring channel ${name}: HTTP ${res.status} ${String(res.body)}`);
  return name;
}

/** Asks the server to cut every subscriber of `channel` (the feed's simulated network failure). */
export function dropConnections(origin: string, channel: string): void {
  http.asyncRequest('POST', `${origin}/feed/drop?channel=${channel}`, null, {
    ...CONTROL,
    headers: { 'content-type': 'application/json', ...authHeaders() },
  });
}

/**
 * Sequence accounting for one subscriber; the transport calls message, reset and disconnected
 * and reads lastSeq to resume. In fan-out mode every message also goes to the VU's FanOut.
 */
// the hold workload's phase tags, one object each (not one per message)
const RAMP = { phase: 'ramp' };
const HOLD = { phase: 'hold' };

export class Subscription {
  lastSeq = 0;
  received = 0;
  gaps = 0;
  dups = 0;
  private lostAt = 0;
  recovered = 0;
  /** When the last new message was read (0: none yet). */
  lastReadAt = 0;
  /** The hold workload: from this time (ms since the epoch) latencies are tagged phase=hold, before it phase=ramp. */
  holdFrom = 0;

  // The channel's schedule: message n is due at start + n × period (servers/lib/feed.ts). The
  // start is estimated as the earliest the messages seen say (the most on-time one).
  private scheduleStart = Infinity;

  /** lean: delivered messages and their bytes, summed here and added to the counters once at finish. */
  private deliveredHere = 0;
  private bytesHere = 0;

  constructor(
    private readonly fanOut?: FanOut,
    /**
     * Lean accounting for many connections per VU (the hold workload): per message only
     * rtb_latency; rtb_messages and rtb_payload_bytes once per subscriber at finish(); no
     * rtb_latency_intended or rtb_late_send. Every metric sample passes through k6's one sample
     * pipeline: at 10,000 messages a second, five samples each kept it busier than the VUs.
     */
    private readonly lean = false,
  ) {}

  /**
   * Accounts for one message read at `readAt` (the event's timestamp): rtb_latency from the send
   * stamp; rtb_latency_intended from when the channel's rate made the message due (open loop), and
   * rtb_late_send how late the server sent it against that.
   */
  message(msg: FeedMessage, readAt: number): void {
    if (!this.lean) {
      const period = 1000 / feed.rate;
      this.scheduleStart = Math.min(this.scheduleStart, msg.t - msg.seq * period);
      const due = this.scheduleStart + msg.seq * period;
      latencyIntended.add(readAt - due);
      lateSend.add(msg.t - due);
    }
    this.arrived(msg.seq, msg.t, readAt, msg.p.length === feed.bytes, feed.bytes);
    this.fanOut?.seen(msg, readAt);
  }

  /**
   * Accounts for message `seq`, sent at `sentAt` (server clock) and read at `readAt`; `intact`
   * says its payload of `bytes` checked out. For streams whose messages are not FeedMessages
   * (the gRPC order stream of the hold workload).
   */
  arrived(seq: number, sentAt: number, readAt: number, intact: boolean, bytes: number): void {
    latency.add(readAt - sentAt, this.holdFrom ? (readAt < this.holdFrom ? RAMP : HOLD) : undefined);
    if (this.lastSeq !== 0 && seq <= this.lastSeq) {
      this.dups++;
      duplicates.add(1);
      return;
    }
    if (this.lastSeq !== 0 && seq > this.lastSeq + 1) {
      this.gaps += seq - this.lastSeq - 1;
      lost.add(seq - this.lastSeq - 1);
    }
    if (this.lostAt) {
      recoveryTime.add(readAt - this.lostAt);
      this.lostAt = 0;
      this.recovered++;
    }
    this.lastSeq = seq;
    this.lastReadAt = readAt;
    this.received++;
    if (intact && this.lean) {
      this.deliveredHere++;
      this.bytesHere += bytes;
    } else if (intact) {
      delivered.add(1);
      payloadBytes.add(bytes);
    }
  }

  /** The server said messages we asked to resume from are gone: count them as lost. */
  reset(info: ResetInfo): void {
    this.gaps += info.oldest - info.requested;
    lost.add(info.oldest - info.requested);
    errors.add(1, { reason: 'resume too far behind' });
  }

  /** True while the connection is lost: it went away and no message has arrived since. */
  get down(): boolean {
    return this.lostAt !== 0;
  }

  /** The connection went away at `at` (only the first loss until a message arrives counts). */
  disconnected(at: number): void {
    if (!this.lostAt) this.lostAt = at;
  }

  /** Checks at the end of the window. */
  finish(expectDrop: boolean): void {
    if (this.deliveredHere > 0) {
      delivered.add(this.deliveredHere);
      payloadBytes.add(this.bytesHere);
      this.deliveredHere = this.bytesHere = 0;
    }
    check(this, {
      'messages received': (s) => s.received > 0,
      'no messages lost': (s) => s.gaps === 0,
      'no duplicates': (s) => s.dups === 0,
    });
    if (expectDrop) check(this, { 'recovered after the drop': (s) => s.recovered > 0 });
    // Under a FAULT schedule a subscription may start after the fault: if it dropped, it came back.
    else if (feed.fault) check(this, { 'recovered after the drop': (s) => s.lostAt === 0 });
  }
}

/**
 * Fan-out accounting for one VU's subscribers on one channel: a message counts when every
 * subscriber has it; rtb_batch_time = server send → the last subscriber read it.
 */
export class FanOut {
  private readonly pending = new Map<number, { t: number; n: number; last: number }>();
  completed = 0;

  constructor(private readonly subscribers: number) {}

  seen(msg: FeedMessage, readAt: number): void {
    const p = this.pending.get(msg.seq) ?? { t: msg.t, n: 0, last: 0 };
    p.n++;
    p.last = Math.max(p.last, readAt);
    if (p.n < this.subscribers) {
      this.pending.set(msg.seq, p);
      return;
    }
    this.pending.delete(msg.seq);
    batchTime.add(p.last - p.t);
    this.completed++;
  }

  finish(): void {
    check(this, { 'fan-out: messages reached every subscriber': (f) => f.completed > 0 });
  }
}

/** Opens one subscription to `channel` that feeds `sub`; returns how to close it. */
export type Subscribe = (channel: string, sub: Subscription) => { close(): void };

/**
 * One iteration of the feed workload: declares this VU's channel, opens one subscription (fan-out
 * mode: SUBSCRIBERS of them) with `subscribe`, has the server cut them at DROP_AFTER in drop mode,
 * and checks every subscriber at the end of WINDOW.
 */
export function feedWindow(origin: string, protocol: string, subscribe: Subscribe): void {
  const channel = declareChannel(origin, protocol);
  const count = feed.mode === 'fanout' ? feed.subscribers : 1;
  const fanOut = feed.mode === 'fanout' ? new FanOut(count) : undefined;

  for (let i = 0; i < count; i++) {
    const sub = new Subscription(fanOut);
    const subscription = subscribe(channel, sub);
    setTimeout(() => {
      subscription.close();
      sub.finish(feed.mode === 'drop');
    }, feed.windowMs);
  }

  if (feed.mode === 'drop') setTimeout(() => dropConnections(origin, channel), dropAfterMs);
  if (fanOut) setTimeout(() => fanOut.finish(), feed.windowMs + 1);
}
