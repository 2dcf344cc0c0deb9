// The feed over Server-Sent Events, with our k6 extension k6/x/sse (extensions/sse): the
// counterpart of subscribeWs in ws.ts. The EventSource reconnects by itself after the server's
// `retry` and resumes with Last-Event-ID; a resume too far back arrives as an `event: reset`.
import { EventSource } from 'k6/x/sse';
import { now } from '../monitor/clock.ts';
import type { FeedMessage, ResetInfo } from '../../../contracts/feed.ts';
import { connectTime, errors } from '../monitor/metrics.ts';
import type { Subscription } from '../workload/feed.ts';
import { lagProbe } from '../monitor/lag-probe.ts';
import { withToken } from './auth.ts';

/**
 * Subscribes at `url` (the stream's URL with its ?channel=) feeding `sub`; rtb_connect_time is the
 * first open only; an error before the first open counts in rtb_errors ('connect failed').
 */
export function subscribeSse(url: string, sub: Subscription): { close(): void } {
  const started = now();
  let opened = false;
  // `name` (the URL without its query) stands in for the URL in the stream's metric tags, as for
  // k6's http: one tag set for every channel instead of one per stream (~15 KB of k6 memory each).
  const es = new EventSource(withToken(url), { tags: { protocol: 'sse', name: url.split('?')[0]! } });
  const stopProbe = lagProbe(); // until close()
  es.onopen = (e) => {
    if (!opened) connectTime.add(e.timestamp - started);
    opened = true;
  };
  es.onmessage = (e) => sub.message(JSON.parse(e.data) as FeedMessage, e.timestamp);
  es.addEventListener('reset', (e) => sub.reset(JSON.parse(e.data) as ResetInfo));
  es.onerror = (e) => {
    if (!opened) errors.add(1, { reason: 'connect failed: sse' }); // then the EventSource retries
    sub.disconnected(e.timestamp);
  };
  return {
    close: () => {
      stopProbe();
      es.close();
    },
  };
}
