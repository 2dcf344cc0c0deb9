// Capacity over gRPC server streaming: the hold workload (scripts/lib/workload/hold.ts), CONNS
// SubscribeOrders streams, PER_VU per VU, opened at CONNECT_RATE/s, each pushing MSG_RATE orders/s
// until HOLD after the last one opened, then ending by itself. k6's gRPC client loads its protos
// in the init context, so each VU has one client: its PER_VU streams share one HTTP/2 connection.
// Latency (measure=oneway): server_send_ms → Date.now() in the handler, whole ms, one host's clock.
//   k6 run -e CONNS=2000 -e PER_VU=100 -e CONNECT_RATE=500 -e HOLD=30s dist/grpc-hold.js
import { scenarioOptions } from './lib/load/options.ts';
import { GRPC_ADDR } from './lib/transport/addresses.ts';
import { connect, grpcClient, openStream } from './lib/transport/grpc.ts';
import { SERVICE } from './lib/workload/orders.ts';
import { holdScenario, holdWindow, orderArrived, ordersFilter, type StreamedOrder } from './lib/workload/hold.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('grpc-hold', holdScenario('grpc'));

const SUBSCRIBE = `${SERVICE}/SubscribeOrders`;
const client = grpcClient('orders.proto');

export default async function () {
  connect(client, GRPC_ADDR);
  await holdWindow((conn) => {
    const { stream, ended } = openStream<StreamedOrder>(client, SUBSCRIBE, 3_600_000, (order, at) =>
      orderArrived(conn, order, at, true),
    );
    stream.write(ordersFilter(conn));
    stream.end();
    ended.then(() => conn.ended());
  });
  client.close();
}
