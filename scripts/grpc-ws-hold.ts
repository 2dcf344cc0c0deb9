// Capacity through the gRPC-over-WebSocket bridge: the hold workload (scripts/lib/workload/hold.ts),
// CONNS SubscribeOrders calls, one WebSocket each (scripts/lib/transport/grpc-ws.ts), PER_VU per
// VU, opened at CONNECT_RATE/s, each pushing MSG_RATE orders/s until HOLD after the last one
// opened, then ending with its trailer. Latency (measure=oneway): server_send_ms → the message
// event's `timestamp`, one host's clock.
//   k6 run -e CONNS=2000 -e PER_VU=200 -e CONNECT_RATE=500 -e HOLD=30s dist/grpc-ws-hold.js
import { scenarioOptions } from './lib/load/options.ts';
import { WS_URL } from './lib/transport/addresses.ts';
import { method, openCall } from './lib/transport/grpc-ws.ts';
import { SERVICE } from './lib/workload/orders.ts';
import { holdScenario, holdWindow, orderArrived, ordersFilter, type StreamedOrder } from './lib/workload/hold.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('grpc-ws-hold', holdScenario('grpc-ws'));

const SUBSCRIBE = method(`${SERVICE}/SubscribeOrders`);

export default function () {
  return holdWindow((conn) => {
    const call = openCall<StreamedOrder>(
      WS_URL,
      SUBSCRIBE,
      {
        onOpen: (c) => {
          c.send(ordersFilter(conn));
          c.end();
        },
        onMessage: (order, atMs) => orderArrived(conn, order, atMs, false),
      },
      { timeoutMs: 3_600_000 },
    );
    call.ended.then(() => conn.ended());
  });
}
