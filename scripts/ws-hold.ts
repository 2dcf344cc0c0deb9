// Capacity over WebSocket: the hold workload (scripts/lib/workload/hold.ts), CONNS connections,
// PER_VU per VU, opened at CONNECT_RATE/s, each subscribed on /feed to a channel of its own at
// MSG_RATE for HOLD after the last one opened. Latency (measure=oneway): server stamp → the
// message event's `timestamp`, one host's clock. `npm run capacity` steps CONNS to find the knee.
//   k6 run -e CONNS=2000 -e PER_VU=200 -e CONNECT_RATE=500 -e HOLD=30s dist/ws-hold.js
import { scenarioOptions } from './lib/load/options.ts';
import { WS_URL } from './lib/transport/addresses.ts';
import { subscribeWs } from './lib/transport/ws.ts';
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
export const options = { ...scenarioOptions('ws-hold', holdScenario('ws')), setupTimeout: '5m' };
const origin = httpOrigin(WS_URL);

export function setup() {
  declareHoldChannels(origin);
}

const subscribe: SubscribeHeld = (channel, sub) => subscribeWs(`${WS_URL}/feed`, channel, sub);

export default function () {
  return holdWindow((conn) => onFeedChannel(conn, subscribe), feedDropUrl(origin));
}
