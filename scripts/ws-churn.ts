// Connection churn over WebSocket: the churn workload (scripts/lib/workload/churn.ts), CONNECT_RATE
// new connections a second for WINDOW, each subscribing on /feed to the churn channel from seq 0,
// closing once the server has pushed its one message. rtb_connect_time: constructor → open event;
// rtb_first_message_time: constructor → the message event's `timestamp`.
//   k6 run -e CONNECT_RATE=200 -e WINDOW=10s dist/ws-churn.js
import { scenarioOptions } from './lib/load/options.ts';
import { WS_URL } from './lib/transport/addresses.ts';
import { openSocket } from './lib/transport/ws.ts';
import { httpOrigin, type FeedMessage } from './lib/workload/feed.ts';
import { CHURN_CHANNEL, churnChannel, churnOnce, churnScenario } from './lib/workload/churn.ts';
import type { SubscribeRequest } from '../contracts/feed.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('ws-churn', churnScenario('ws'));

export function setup() {
  churnChannel(httpOrigin(WS_URL));
}

const SUBSCRIBE: SubscribeRequest = { op: 'subscribe', channel: CHURN_CHANNEL, after: 0 };

export default function () {
  return churnOnce((conn) => {
    const { ws, onClosed } = openSocket(`${WS_URL}/feed`, (socket) => socket.send(JSON.stringify(SUBSCRIBE)));
    ws.addEventListener('message', (e) => {
      const m = JSON.parse(e.data as string) as FeedMessage & { op?: string };
      if (m.op !== undefined) return; // the subscribe ack
      conn.feedMessage(m, e.timestamp);
      ws.close();
    });
    onClosed(() => conn.closed());
    return { close: () => ws.close() };
  });
}
