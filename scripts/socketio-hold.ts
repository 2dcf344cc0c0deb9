// Capacity over Socket.IO: the hold workload (scripts/lib/workload/hold.ts), CONNS connections,
// PER_VU per VU (our client over k6/x/ws), opened at CONNECT_RATE/s, each subscribed to a
// feed channel of its own at MSG_RATE for HOLD after the last one opened. Latency
// (measure=oneway): server stamp → the frame's `timestamp`, one host's clock.
//   k6 run -e CONNS=2000 -e PER_VU=200 -e CONNECT_RATE=500 -e HOLD=30s dist/socketio-hold.js
import { scenarioOptions } from './lib/load/options.ts';
import { SOCKETIO_URL } from './lib/transport/addresses.ts';
import { subscribeSocketIo } from './lib/transport/socketio.ts';
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
export const options = {
  ...scenarioOptions('socketio-hold', holdScenario('socketio')),
  setupTimeout: '5m',
};

export function setup() {
  declareHoldChannels(SOCKETIO_URL);
}

const subscribe: SubscribeHeld = (channel, sub) => subscribeSocketIo(SOCKETIO_URL, channel, sub);

export default function () {
  return holdWindow((conn) => onFeedChannel(conn, subscribe), feedDropUrl(SOCKETIO_URL));
}
