// Server push over WebSocket (seed 001), the counterpart of sse-feed on the same workload.
// Each iteration subscribes to this VU's channel on /feed for WINDOW (10 s) while the server
// publishes MSG_RATE (10) messages/s of PAYLOAD_BYTES (64) payload bytes; every message is
// checked for its place in the sequence: gaps are losses, repeats are duplicates.
//   MODE=normal  one socket per VU
//   MODE=fanout  SUBSCRIBERS (10) sockets per VU on one channel: one publish reaches them all;
//                rtb_batch_time = server send → the last subscriber read it
//   MODE=drop    at DROP_AFTER the server cuts the connection; the client reconnects with
//                exponential backoff and resumes after the last sequence number it saw
// Delivery latency (measure=oneway): server send stamp → the message event's `timestamp`
// (when k6 read the frame), on one host's clock.
//   k6 run -e MODE=fanout -e SUBSCRIBERS=50 dist/ws-feed.js
import { setTimeout } from 'k6/timers';
import { scenarioOptions } from './lib/load/options.ts';
import { envString } from './lib/load/env.ts';
import { FanOut, Subscription, declareChannel, dropAfterMs, dropConnections, feed, feedScenario, httpOrigin, subscribeWs } from './lib/workload/feed.ts';

export const options = scenarioOptions('ws-feed', feedScenario('ws'));

const WS_URL = envString('WS_URL', 'ws://127.0.0.1:8080');
const origin = httpOrigin(WS_URL);

export default function () {
  const channel = declareChannel(origin, 'ws');
  const count = feed.mode === 'fanout' ? feed.subscribers : 1;
  const fanOut = new FanOut(count);

  for (let i = 0; i < count; i++) {
    const sub = new Subscription();
    const socket = subscribeWs(`${WS_URL}/feed`, channel, sub, (msg, readAt) => {
      if (feed.mode === 'fanout') fanOut.seen(msg, readAt);
    });
    setTimeout(() => {
      socket.close();
      sub.finish(feed.mode === 'drop');
    }, feed.windowMs);
  }

  if (feed.mode === 'drop') setTimeout(() => dropConnections(origin, channel), dropAfterMs);
  if (feed.mode === 'fanout') setTimeout(() => fanOut.finish(), feed.windowMs + 1);
}
