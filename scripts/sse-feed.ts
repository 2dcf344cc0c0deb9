// Server push over Server-Sent Events (seed 001), with our k6 extension k6/x/sse.
// Each iteration subscribes to this VU's channel for WINDOW (10 s) while the server publishes
// MSG_RATE (10) messages/s of PAYLOAD_BYTES (64) payload bytes. Every message is checked for
// its place in the sequence: gaps are losses, repeats are duplicates.
//   MODE=normal  one stream per VU
//   MODE=fanout  SUBSCRIBERS (10) streams per VU on one channel: one publish reaches them all;
//                rtb_batch_time = server send → the last subscriber read it
//   MODE=drop    at DROP_AFTER the server cuts the connection; the EventSource reconnects after
//                the server's `retry` and resumes with Last-Event-ID: nothing may be lost
// Delivery latency (measure=oneway): server send stamp → the event's `timestamp` (when the
// extension read its bytes), on one host's clock.
//   k6 run -e MODE=drop dist/sse-feed.js        (needs the project's k6: npm run k6 -- run …)
import { EventSource } from 'k6/x/sse';
import { setTimeout } from 'k6/timers';
import { scenarioOptions } from './lib/load/options.ts';
import { envString } from './lib/load/env.ts';
import { connectTime } from './lib/monitor/metrics.ts';
import { FanOut, Subscription, declareChannel, dropAfterMs, dropConnections, feed, feedScenario, httpOrigin, type FeedMessage } from './lib/workload/feed.ts';

export const options = scenarioOptions('sse-feed', feedScenario('sse'));

const SSE_URL = envString('SSE_URL', 'http://127.0.0.1:8080/sse');
const origin = httpOrigin(SSE_URL);

export default function () {
  const channel = declareChannel(origin, 'sse');
  const count = feed.mode === 'fanout' ? feed.subscribers : 1;
  const fanOut = new FanOut(count);

  for (let i = 0; i < count; i++) {
    const sub = new Subscription();
    const started = Date.now();
    let opened = false;
    const es = new EventSource(`${SSE_URL}?channel=${channel}`, { tags: { protocol: 'sse' } });
    es.onopen = (e) => {
      if (!opened) connectTime.add(e.timestamp - started);
      opened = true;
    };
    es.onmessage = (e) => {
      const msg = JSON.parse(e.data) as FeedMessage;
      sub.message(msg, e.timestamp);
      if (feed.mode === 'fanout') fanOut.seen(msg, e.timestamp);
    };
    es.addEventListener('reset', (e) => sub.reset(JSON.parse(e.data)));
    es.onerror = (e) => sub.disconnected(e.timestamp);
    setTimeout(() => {
      es.close();
      sub.finish(feed.mode === 'drop');
    }, feed.windowMs);
  }

  if (feed.mode === 'drop') setTimeout(() => dropConnections(origin, channel), dropAfterMs);
  if (feed.mode === 'fanout') setTimeout(() => fanOut.finish(), feed.windowMs + 1);
}
