// The server-push feed shared by the SSE and WebSocket transports: named channels that publish
// `rate` messages/s of `bytes` payload bytes, every message stamped with a sequence number and
// the server's send time and serialised once for all subscribers. A bounded replay buffer lets a
// subscriber resume after a drop; one that is too far behind gets an explicit reset, never a
// silent gap. Subscribers whose transport buffers too much are dropped (bounded memory); they
// can reconnect and resume.
import { nowMs } from './clock.ts';
import type { ChannelSpec, FeedMessage as MessageBody, ResetInfo } from '../../contracts/feed.ts';

export type { ChannelSpec } from '../../contracts/feed.ts';

/** One published message; `json` is what every transport sends as the message body. */
export interface FeedMessage {
  seq: number;
  json: string;
}

/** A transport's view of one subscriber. */
export interface Subscriber {
  /** Deliver one message; return false if the subscriber is too far behind and was dropped. */
  deliver(msg: FeedMessage): boolean;
  /** Tell it that messages it asked to resume from are gone, then continue live. */
  reset(info: ResetInfo & { reason: string }): void;
  /** Cut the connection (a simulated network failure). */
  drop(): void;
  /** End the connection cleanly (shutdown): WebSocket 1001, SSE stream ended. */
  close(): void;
}

export interface FeedLimits {
  maxChannels: number;
  maxRate: number;
  maxBytes: number;
  replay: number; // messages kept per channel for resume
  idleMs: number; // a channel with no subscribers for this long is removed
  /** rate × bytes one channel may publish, bytes/s (on-demand publishes included). */
  channelBytesPerSec: number;
  /** rate × bytes of all channels together, bytes/s. */
  feedBytesPerSec: number;
  /** Replay memory of all channels together, bytes: each channel keeps at most its share. */
  replayBytes: number;
  /** A channel keeps publishing this long after its last subscriber left, so a reconnect can resume; then it pauses. */
  resumeGraceMs: number;
}

const MiB = 1024 * 1024;
// maxChannels stays the hardened default; the capacity runs (one channel per held connection) raise
// it with --max-channels / RTBENCH_MAX_CHANNELS.
export const DEFAULT_FEED_LIMITS: FeedLimits = {
  maxChannels: 1000,
  maxRate: 10_000,
  maxBytes: MiB,
  replay: 2000,
  idleMs: 60_000,
  channelBytesPerSec: 32 * MiB,
  feedBytesPerSec: 128 * MiB,
  replayBytes: 256 * MiB,
  resumeGraceMs: 30_000,
};

/** Bytes of a message's JSON besides its payload (seq, time, channel name, keys): at most this. */
const MESSAGE_OVERHEAD = 160;

export class FeedError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** Shortest time between two ticks of a channel's publishing timer. */
const TICK_MS = 10;

/** The payload of `bytes` characters, one string per size for every channel (a channel per held connection is common). */
const fillers = new Map<number, string>();
function filler(bytes: number): string {
  let f = fillers.get(bytes);
  if (f === undefined) {
    if (fillers.size >= 64) fillers.clear(); // sizes vary little; never hold more than a few
    fillers.set(bytes, (f = 'x'.repeat(bytes)));
  }
  return f;
}

export class Channel {
  private seq = 0;
  /**
   * The replay buffer, compact: the send times of the last `replay` messages, the first being
   * message `ringFirst`; a replayed message is serialised again from its time (the same bytes).
   * Keeping each message's JSON instead cost ~200 bytes per message per channel, which at one
   * channel per connection made most of a held connection's memory.
   */
  private readonly ring: number[] = [];
  private ringFirst = 1;
  readonly subscribers = new Set<Subscriber>();
  private readonly startedAt = nowMs();
  private published = 0;
  private timer: NodeJS.Timeout | undefined;
  idleSince = Date.now();
  private readonly filler: string;
  /** On-demand publishing budget (token bucket, bytes). */
  private allowance: number;
  private allowanceAt = Date.now();

  constructor(
    readonly spec: ChannelSpec,
    private readonly limits: FeedLimits,
    private readonly replayShare: () => number,
  ) {
    this.allowance = limits.channelBytesPerSec;
    this.filler = filler(spec.bytes);
    // A slow channel ticks once per message (1 msg/s: once a second), not every TICK_MS: with
    // thousands of channels the timers would otherwise cost the server more than the sending.
    if (spec.rate > 0) this.timer = setInterval(() => this.tick(), Math.max(TICK_MS, Math.floor(1000 / spec.rate)));
  }

  /** Publishes what the rate says is due since the channel started (catching up after a slow tick). */
  private tick(): void {
    if (this.subscribers.size === 0 && Date.now() - this.idleSince > this.limits.resumeGraceMs) {
      // Nobody is listening or coming back soon: publish nothing, and start afresh when someone subscribes.
      this.published = Math.floor(((nowMs() - this.startedAt) * this.spec.rate) / 1000);
      return;
    }
    const due = Math.floor(((nowMs() - this.startedAt) * this.spec.rate) / 1000) - this.published;
    for (let i = 0; i < Math.min(due, this.spec.rate); i++) {
      this.published++;
      this.publish();
    }
    if (due > this.spec.rate) this.published += due - this.spec.rate; // more than a second behind: skip, don't burst
  }

  private message(seq: number, t: number): FeedMessage {
    const body: MessageBody = { seq, t, ch: this.spec.name, p: this.filler };
    return { seq, json: JSON.stringify(body) };
  }

  publish(): FeedMessage {
    const t = nowMs();
    const msg = this.message(++this.seq, t);
    this.ring.push(t);
    // The replay budget counts what the buffer can replay (each message's JSON, at most payload +
    // MESSAGE_OVERHEAD), so a channel's share bounds a resume's bytes as before the buffer went compact.
    const cost = this.spec.bytes + MESSAGE_OVERHEAD;
    const share = this.replayShare();
    while (this.ring.length > 1 && (this.ring.length > this.limits.replay || this.ring.length * cost > share)) {
      this.ring.shift();
      this.ringFirst++;
    }
    for (const sub of this.subscribers) if (!sub.deliver(msg)) this.subscribers.delete(sub);
    return msg;
  }

  /** Publishes one message now if the channel's byte budget allows; else a 429 saying when. */
  publishNow(): FeedMessage {
    const now = Date.now();
    const budget = this.limits.channelBytesPerSec;
    this.allowance = Math.min(budget, this.allowance + ((now - this.allowanceAt) * budget) / 1000);
    this.allowanceAt = now;
    const cost = this.spec.bytes + MESSAGE_OVERHEAD;
    if (this.allowance < cost)
      throw new FeedError(
        429,
        `channel '${this.spec.name}' is over its budget of ${budget} bytes/s: publish more slowly`,
      );
    this.allowance -= cost;
    return this.publish();
  }

  /** The last message published (0: none yet). */
  get latest(): number {
    return this.seq;
  }

  /** Adds a subscriber, first replaying everything after `afterSeq` (when given) from the buffer. */
  subscribe(sub: Subscriber, afterSeq?: number): void {
    if (afterSeq !== undefined && afterSeq > this.seq) {
      // A resume point this channel never reached (it restarted, or the client is confused): say so, then go live.
      sub.reset({
        requested: afterSeq + 1,
        oldest: this.seq + 1,
        reason: `resume point ${afterSeq} is ahead of the channel (latest ${this.seq})`,
      });
    } else if (afterSeq !== undefined && afterSeq < this.seq) {
      const oldest = this.ring.length > 0 ? this.ringFirst : this.seq + 1;
      if (afterSeq + 1 < oldest)
        sub.reset({ requested: afterSeq + 1, oldest, reason: 'too far behind: messages no longer buffered' });
      for (let seq = Math.max(afterSeq + 1, oldest); seq <= this.seq; seq++) {
        if (!sub.deliver(this.message(seq, this.ring[seq - this.ringFirst]!))) return;
      }
    }
    this.subscribers.add(sub);
  }

  unsubscribe(sub: Subscriber): void {
    this.subscribers.delete(sub);
    if (this.subscribers.size === 0) this.idleSince = Date.now();
  }

  /** Cuts every subscriber's connection; returns how many. */
  dropAll(): number {
    const n = this.subscribers.size;
    for (const sub of [...this.subscribers]) sub.drop();
    this.subscribers.clear();
    this.idleSince = Date.now();
    return n;
  }

  /** Stops publishing and ends every subscriber's connection cleanly (shutdown) or cuts it (removal). */
  close(clean = false): void {
    clearInterval(this.timer);
    for (const sub of [...this.subscribers]) clean ? sub.close() : sub.drop();
    this.subscribers.clear();
  }
}

export class Feed {
  private readonly channels = new Map<string, Channel>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(readonly limits: FeedLimits = DEFAULT_FEED_LIMITS) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(limits.idleMs, 5000));
    this.sweeper.unref();
  }

  /** Validates a channel spec from a request body, naming the bad field. */
  /** Each channel's share of the replay memory. */
  private readonly replayShare = () => Math.floor(this.limits.replayBytes / Math.max(1, this.channels.size));

  /** Bytes/s every channel publishes together. */
  private committed(): number {
    let sum = 0;
    for (const ch of this.channels.values()) sum += ch.spec.rate * (ch.spec.bytes + MESSAGE_OVERHEAD);
    return sum;
  }

  parseSpec(body: unknown): ChannelSpec {
    if (typeof body !== 'object' || body === null)
      throw new FeedError(400, 'expected a JSON object {"name", "rate", "bytes"}');
    const { name, rate, bytes } = body as Record<string, unknown>;
    if (typeof name !== 'string' || !NAME.test(name))
      throw new FeedError(400, `name must be 1-64 letters, digits, '_', '.' or '-', got ${JSON.stringify(name)}`);
    if (!Number.isInteger(rate) || (rate as number) < 0 || (rate as number) > this.limits.maxRate)
      throw new FeedError(
        400,
        `rate must be a whole number of messages/s from 0 to ${this.limits.maxRate}, got ${JSON.stringify(rate)}`,
      );
    if (!Number.isInteger(bytes) || (bytes as number) < 0 || (bytes as number) > this.limits.maxBytes)
      throw new FeedError(
        400,
        `bytes must be a whole number from 0 to ${this.limits.maxBytes}, got ${JSON.stringify(bytes)}`,
      );
    return { name, rate: rate as number, bytes: bytes as number };
  }

  /** Creates a channel; the same spec again is a no-op, a different one for an existing name is a conflict. */
  declare(spec: ChannelSpec): { created: boolean } {
    const existing = this.channels.get(spec.name);
    if (existing) {
      const s = existing.spec;
      if (s.rate !== spec.rate || s.bytes !== spec.bytes)
        throw new FeedError(409, `channel '${spec.name}' exists with rate ${s.rate} and bytes ${s.bytes}`);
      return { created: false };
    }
    if (this.channels.size >= this.limits.maxChannels)
      throw new FeedError(429, `too many channels (limit ${this.limits.maxChannels})`);
    const cost = spec.rate * (spec.bytes + MESSAGE_OVERHEAD);
    if (cost > this.limits.channelBytesPerSec) {
      throw new FeedError(
        413,
        `rate × bytes is ${cost} bytes/s with message overhead, over the ${this.limits.channelBytesPerSec} bytes/s one channel may publish`,
      );
    }
    const committed = this.committed();
    if (committed + cost > this.limits.feedBytesPerSec) {
      throw new FeedError(
        429,
        `channels already publish ${committed} bytes/s; this one would pass the feed's budget of ${this.limits.feedBytesPerSec} bytes/s`,
      );
    }
    this.channels.set(spec.name, new Channel(spec, this.limits, this.replayShare));
    return { created: true };
  }

  /** The channel named `name`, or a 404-style error naming it. */
  channel(name: string | null | undefined): Channel {
    if (!name) throw new FeedError(400, 'channel is required');
    const ch = this.channels.get(name);
    if (!ch) throw new FeedError(404, `unknown channel '${name}' (declare it with POST /feed/channels)`);
    return ch;
  }

  /** Cuts every subscriber of every channel at once; returns how many. */
  dropEverything(): number {
    let n = 0;
    for (const ch of this.channels.values()) n += ch.dropAll();
    return n;
  }

  remove(name: string): void {
    this.channel(name).close();
    this.channels.delete(name);
  }

  private sweep(): void {
    const cutoff = Date.now() - this.limits.idleMs;
    for (const [name, ch] of this.channels) {
      if (ch.subscribers.size === 0 && ch.idleSince < cutoff) {
        ch.close();
        this.channels.delete(name);
      }
    }
  }

  /** Shutdown: every subscriber's connection ended cleanly. */
  close(): void {
    clearInterval(this.sweeper);
    for (const ch of this.channels.values()) ch.close(true);
    this.channels.clear();
  }
}
