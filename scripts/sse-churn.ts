// Connection churn over Server-Sent Events: the churn workload (scripts/lib/workload/churn.ts),
// CONNECT_RATE new streams a second for WINDOW on our k6/x/sse, each on the churn channel resuming
// after 0, closed once the server has pushed its one message. rtb_connect_time: constructor → open
// event; rtb_first_message_time: constructor → the message event's `timestamp`.
//   k6 run -e CONNECT_RATE=200 -e WINDOW=10s dist/sse-churn.js
import { EventSource } from 'k6/x/sse';
import { scenarioOptions } from './lib/load/options.ts';
import { SSE_URL } from './lib/transport/addresses.ts';
import { withToken } from './lib/transport/auth.ts';
import { connectTime } from './lib/monitor/metrics.ts';
import { httpOrigin, type FeedMessage } from './lib/workload/feed.ts';
import { CHURN_CHANNEL, churnChannel, churnOnce, churnScenario } from './lib/workload/churn.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('sse-churn', churnScenario('sse'));

export function setup() {
  churnChannel(httpOrigin(SSE_URL));
}

const url = withToken(`${SSE_URL}?channel=${CHURN_CHANNEL}&lastEventId=0`);

export default function () {
  return churnOnce((conn) => {
    const es = new EventSource(url, { tags: { protocol: 'sse', name: SSE_URL } });
    const close = () => (es.close(), conn.closed());
    es.onopen = (e) => connectTime.add(e.timestamp - conn.startedAt);
    es.onmessage = (e) => {
      conn.feedMessage(JSON.parse(e.data) as FeedMessage, e.timestamp);
      close();
    };
    es.onerror = (e) => {
      conn.failed(`sse ${e.error}`); // the EventSource would retry: a churned stream does not
      close();
    };
    return { close: () => es.close() };
  });
}
