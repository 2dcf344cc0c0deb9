// Connection churn over gRPC: the churn workload (scripts/lib/workload/churn.ts), CONNECT_RATE new
// HTTP/2 connections a second for WINDOW, each a SubscribeOrders call for one order, closed once it
// arrived. k6's connect blocks its VU, so a VU makes one connection at a time. rtb_connect_time:
// around the blocking connect; rtb_first_message_time: connect start → the order in the script.
//   k6 run -e CONNECT_RATE=200 -e WINDOW=10s dist/grpc-churn.js
import { scenarioOptions } from './lib/load/options.ts';
import { GRPC_ADDR } from './lib/transport/addresses.ts';
import { connect, grpcClient, openStream } from './lib/transport/grpc.ts';
import { SERVICE } from './lib/workload/orders.ts';
import type { StreamedOrder } from './lib/workload/hold.ts';
import { ONE_ORDER, churnOnce, churnScenario } from './lib/workload/churn.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('grpc-churn', churnScenario('grpc'));

const SUBSCRIBE = `${SERVICE}/SubscribeOrders`;
const client = grpcClient('orders.proto');

export default function () {
  return churnOnce((conn) => {
    const close = () => (client.close(), conn.closed());
    try {
      connect(client, GRPC_ADDR);
    } catch (err) {
      conn.failed(`grpc ${String(err)}`);
      close();
      return { close };
    }
    const { stream, ended } = openStream<StreamedOrder>(client, SUBSCRIBE, 10_000, (order, at) =>
      conn.order(order, at),
    );
    stream.write(ONE_ORDER);
    stream.end();
    ended.then(close);
    return { close };
  });
}
