// Capacity through the gRPC-over-WebSocket bridge: the hold workload (scripts/lib/workload/hold.ts),
// CONNS SubscribeOrders calls, one WebSocket each (scripts/lib/transport/grpc-ws.ts), PER_VU per
// VU, opened at CONNECT_RATE/s, each pushing MSG_RATE orders/s until HOLD after the last one
// opened, then ending with its trailer. Latency (measure=oneway): server_send_ms → the message
// event's `timestamp`, one host's clock.
//   k6 run -e CONNS=2000 -e PER_VU=200 -e CONNECT_RATE=500 -e HOLD=30s dist/grpc-ws-hold.js
import { scenarioOptions } from './lib/load/options.ts';
import { WS_URL } from './lib/transport/addresses.ts';
import { method, openCall, type CallHandlers } from './lib/transport/grpc-ws.ts';
import { SERVICE } from './lib/workload/orders.ts';
import {
  holdScenario,
  holdWindow,
  orderArrived,
  ordersFilter,
  type Held,
  type StreamedOrder,
} from './lib/workload/hold.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('grpc-ws-hold', holdScenario('grpc-ws'));

const SUBSCRIBE = method(`${SERVICE}/SubscribeOrders`);

// One set of handlers for every call, each finding its connection in the call's context: a
// closure per call is k6 memory for as long as the call is held.
const handlers: CallHandlers<StreamedOrder> = {
  onOpen: (call) => {
    call.send(ordersFilter(call.context as Held));
    call.end();
  },
  onMessage: (order, atMs, call) => orderArrived(call.context as Held, order, atMs, false),
  onEnd: (_status, call) => (call.context as Held).ended(),
};

export default function () {
  return holdWindow((conn) => {
    openCall(WS_URL, SUBSCRIBE, handlers, { timeoutMs: 3_600_000, context: conn });
  });
}
