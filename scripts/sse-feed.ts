// Server push over Server-Sent Events: the feed workload (scripts/lib/workload/feed.ts), this VU's
// channel for WINDOW at MSG_RATE messages/s, on our extension k6/x/sse (needs the project's k6).
// Modes: MODE=normal (one stream per VU), fanout (SUBSCRIBERS per VU on one channel) or drop (cut at
// DROP_AFTER; the EventSource reconnects and resumes). Latency (measure=oneway): server stamp → the
// event's `timestamp`, one host's clock. The `monitor` export is the server-cost scenario beside it.
//   npm run k6 -- run -e MODE=drop dist/sse-feed.js
import { scenarioOptions } from './lib/load/options.ts';
import { SSE_URL } from './lib/transport/addresses.ts';
import { subscribeSse } from './lib/transport/sse.ts';
import { feedScenario, feedWindow, httpOrigin } from './lib/workload/feed.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('sse-feed', feedScenario('sse'));

export default function () {
  feedWindow(httpOrigin(SSE_URL), 'sse', (channel, sub) => subscribeSse(`${SSE_URL}?channel=${channel}`, sub));
}
