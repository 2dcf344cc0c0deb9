// Capacity over gRPC server streaming: the hold workload (scripts/lib/workload/hold.ts), CONNS
// SubscribeOrders streams (PER_VU per VU: one k6 gRPC client, one HTTP/2 connection), opened at
// CONNECT_RATE/s, each pushing MSG_RATE orders/s until HOLD after the last one opened, then
// ending by itself; in a storm (STORM_AT) each cut stream resumes (hold.ts's OrderStream).
// Latency (measure=oneway): server_send_ms → Date.now() in the handler, whole ms, one host's clock.
//   k6 run -e CONNS=2000 -e PER_VU=100 -e CONNECT_RATE=500 -e HOLD=30s dist/grpc-hold.js
import grpc from 'k6/net/grpc';
import { scenarioOptions } from './lib/load/options.ts';
import { GRPC_ADDR, STATS_URL } from './lib/transport/addresses.ts';
import { connect, grpcClient, openStream } from './lib/transport/grpc.ts';
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

export const options = scenarioOptions('grpc-hold', holdScenario('grpc'));

const SUBSCRIBE = `${SERVICE}/SubscribeOrders`;
const client = grpcClient('orders.proto');

export default async function () {
  connect(client, GRPC_ADDR);
  await holdWindow((conn) => void new OrderStream(conn, subscribe), grpcDropUrl(STATS_URL));
  client.close();
}

/** One SubscribeOrders call of `s` (a storm's cut is no error: the call is opened again). */
function subscribe(s: OrderStream): void {
  const onOrder = (order: StreamedOrder, at: number) => s.arrived(order, at, true);
  const { stream, ended } = openStream(client, SUBSCRIBE, 3_600_000, onOrder, { resumes: stormExpected });
  stream.write(s.request());
  stream.end();
  ended.then((end) => s.ended(end.error?.code === grpc.StatusUnavailable, end.atMs));
}
