// Server push over WebSocket: the feed workload (scripts/lib/workload/feed.ts), this VU's
// channel for WINDOW at MSG_RATE messages/s, on /feed with our k6/x/ws.
// Modes: MODE=normal (one socket per VU), fanout (SUBSCRIBERS per VU on one channel) or drop (cut at
// DROP_AFTER; the client reconnects with backoff and resumes). Latency (measure=oneway): server stamp → the
// event's `timestamp`, one host's clock. The `monitor` export is the server-cost scenario beside it.
//   k6 run -e MODE=fanout -e SUBSCRIBERS=50 dist/ws-feed.js
import { scenarioOptions } from './lib/load/options.ts';
import { WS_URL } from './lib/transport/addresses.ts';
import { subscribeWs } from './lib/transport/ws.ts';
import { feedScenario, feedWindow, httpOrigin } from './lib/workload/feed.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('ws-feed', feedScenario('ws'));

export default function () {
  feedWindow(httpOrigin(WS_URL), 'ws', (channel, sub) => subscribeWs(`${WS_URL}/feed`, channel, sub));
}
