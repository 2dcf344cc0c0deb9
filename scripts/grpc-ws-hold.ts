// Capacity through the gRPC-over-WebSocket bridge: the hold workload (scripts/lib/workload/hold.ts),
// CONNS SubscribeOrders calls, one WebSocket each (scripts/lib/transport/grpc-ws.ts), PER_VU per
// VU, opened at CONNECT_RATE/s, each pushing MSG_RATE orders/s until HOLD after the last one
// opened, then ending with its trailer; in a storm (STORM_AT) each cut call resumes on a new
// WebSocket (hold.ts's OrderStream). Latency (measure=oneway): server_send_ms → the message event's `timestamp`.
//   k6 run -e CONNS=2000 -e PER_VU=200 -e CONNECT_RATE=500 -e HOLD=30s dist/grpc-ws-hold.js
import { scenarioOptions } from './lib/load/options.ts';
import { STATS_URL, WS_URL } from './lib/transport/addresses.ts';
import { method, openCall, type CallHandlers } from './lib/transport/grpc-ws.ts';
import { SERVICE } from './lib/workload/orders.ts';
import {
  grpcDropUrl,
  holdScenario,
  holdWindow,
  OrderStream,
  stormExpected,
  type StreamedOrder,
} from './lib/workload/hold.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('grpc-ws-hold', holdScenario('grpc-ws'));

const SUBSCRIBE = method(`${SERVICE}/SubscribeOrders`);

// One set of handlers for every call, each finding its stream in the call's context: a closure
// per call is k6 memory for as long as the call is held.
const handlers: CallHandlers<StreamedOrder> = {
  onOpen: (call) => {
    call.send((call.context as OrderStream).request());
    call.end();
  },
  onMessage: (order, atMs, call) => (call.context as OrderStream).arrived(order, atMs, false),
  // `lost`: cut (UNAVAILABLE, or the connection went): opened again in a storm
  onEnd: (status, call) => (call.context as OrderStream).ended(status.lost, status.atMs),
};

/** One SubscribeOrders call of `s` on a WebSocket of its own (a storm's cut is no error: the call is opened again). */
function subscribe(s: OrderStream): void {
  const options = { timeoutMs: 3_600_000, context: s, resumable: stormExpected, recordConnect: s.first };
  openCall(WS_URL, SUBSCRIBE, handlers, options);
}

export default function () {
  return holdWindow((conn) => void new OrderStream(conn, subscribe), grpcDropUrl(STATS_URL));
}
