// The feed over Server-Sent Events, with our k6 extension k6/x/sse (extensions/sse): the
// counterpart of subscribeWs in ws.ts. The EventSource reconnects by itself after the server's
// `retry` and resumes with Last-Event-ID; a resume too far back arrives as an `event: reset`.
import { EventSource, type ErrorEvent, type MessageEvent, type OpenEvent } from 'k6/x/sse';
import { now } from '../monitor/clock.ts';
import { readFeedMessage, type ResetInfo } from '../../../contracts/feed.ts';
import { connectTime, errors } from '../monitor/metrics.ts';
import type { Subscription } from '../workload/feed.ts';
import { lagProbe } from '../monitor/lag-probe.ts';
import { withToken } from './auth.ts';

/**
 * Subscribes at `url` (the stream's URL with its ?channel=) feeding `sub`; rtb_connect_time is the
 * first open only; an error before the first open counts in rtb_errors ('connect failed').
 */
export function subscribeSse(url: string, sub: Subscription): { close(): void } {
  return new SseFeedSubscription(url, sub);
}

// A held stream costs k6 memory for as long as it lives, and in k6's JavaScript runtime every
// function object is a few hundred bytes: the listeners below are shared by every stream of the
// VU and find theirs from the event's `target`.
const streams = new Map<EventSource, SseFeedSubscription>();

class SseFeedSubscription {
  private readonly started = now();
  private opened = false;
  private readonly es: EventSource;
  private readonly stopProbe = lagProbe(); // until close()

  constructor(
    url: string,
    readonly sub: Subscription,
  ) {
    // `name` (the URL without its query) stands in for the URL in the stream's metric tags, as for
    // k6's http: one tag set for every channel instead of one per stream (~15 KB of k6 memory each).
    this.es = new EventSource(withToken(url), { tags: { protocol: 'sse', name: url.split('?')[0]! } });
    streams.set(this.es, this);
    this.es.onopen = onStreamOpen;
    this.es.onmessage = onStreamMessage;
    this.es.addEventListener('reset', onStreamReset);
    this.es.onerror = onStreamError;
  }

  open(atMs: number): void {
    if (!this.opened) connectTime.add(atMs - this.started);
    this.opened = true;
  }

  error(atMs: number): void {
    if (!this.opened) errors.add(1, { reason: 'connect failed: sse' }); // then the EventSource retries
    this.sub.disconnected(atMs);
  }

  close(): void {
    streams.delete(this.es);
    this.stopProbe();
    this.es.close();
  }
}

function onStreamOpen(e: OpenEvent): void {
  streams.get(e.target)?.open(e.timestamp);
}
function onStreamMessage(e: MessageEvent): void {
  streams.get(e.target)?.sub.message(readFeedMessage(e.data), e.timestamp);
}
function onStreamReset(e: MessageEvent): void {
  streams.get(e.target)?.sub.reset(JSON.parse(e.data) as ResetInfo);
}
function onStreamError(e: ErrorEvent): void {
  streams.get(e.target)?.error(e.timestamp);
}
