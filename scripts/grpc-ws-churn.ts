// Connection churn through the gRPC-over-WebSocket bridge: the churn workload
// (scripts/lib/workload/churn.ts), CONNECT_RATE new calls a second for WINDOW, one WebSocket each
// (scripts/lib/transport/grpc-ws.ts), SubscribeOrders for one order, ending with its trailer.
// rtb_connect_time: constructor → open event; rtb_first_message_time: the same start → the order's
// message event `timestamp`.   k6 run -e CONNECT_RATE=200 -e WINDOW=10s dist/grpc-ws-churn.js
import { scenarioOptions } from './lib/load/options.ts';
import { WS_URL } from './lib/transport/addresses.ts';
import { method, openCall } from './lib/transport/grpc-ws.ts';
import { SERVICE } from './lib/workload/orders.ts';
import type { StreamedOrder } from './lib/workload/hold.ts';
import { ONE_ORDER, churn, churnOnce, churnScenario } from './lib/workload/churn.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('grpc-ws-churn', churnScenario('grpc-ws'));

const SUBSCRIBE = method(`${SERVICE}/SubscribeOrders`);

export default function () {
  return churnOnce((conn) => {
    const call = openCall<StreamedOrder>(
      WS_URL,
      SUBSCRIBE,
      {
        onOpen: (c) => (c.send(ONE_ORDER), c.end()),
        onMessage: (order, atMs) => conn.order(order, atMs),
      },
      { timeoutMs: churn.timeoutMs }, // the call's deadline closes a connection without its order
    );
    call.ended.then(() => conn.closed());
    return { close: () => {} };
  });
}
