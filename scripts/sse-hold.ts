// Capacity over Server-Sent Events: the hold workload (scripts/lib/workload/hold.ts), CONNS
// streams, PER_VU per VU on our k6/x/sse, opened at CONNECT_RATE/s, each on a channel of its own
// at MSG_RATE for HOLD after the last one opened. Latency (measure=oneway): server stamp → the
// event's `timestamp`, one host's clock. `npm run capacity` steps CONNS to find the knee.
//   npm run k6 -- run -e CONNS=2000 -e PER_VU=200 -e CONNECT_RATE=500 -e HOLD=30s dist/sse-hold.js
import { scenarioOptions } from './lib/load/options.ts';
import { SSE_URL } from './lib/transport/addresses.ts';
import { subscribeSse } from './lib/transport/sse.ts';
import { httpOrigin } from './lib/workload/feed.ts';
import {
  declareHoldChannels,
  feedDropUrl,
  holdScenario,
  holdWindow,
  onFeedChannel,
  type SubscribeHeld,
} from './lib/workload/hold.ts';
export { monitor } from './lib/monitor/monitor.ts';

// setup declares every connection's feed channel before the first opens: 10,000 take a while on a busy machine
export const options = { ...scenarioOptions('sse-hold', holdScenario('sse')), setupTimeout: '5m' };
const origin = httpOrigin(SSE_URL);

export function setup() {
  declareHoldChannels(origin);
}

const subscribe: SubscribeHeld = (channel, sub) => subscribeSse(`${SSE_URL}?channel=${channel}`, sub);

export default function () {
  return holdWindow((conn) => onFeedChannel(conn, subscribe), feedDropUrl(origin));
}
