// gRPC unary calls (OrderService/CreateOrder): the orders workload (scripts/lib/workload/orders.ts),
// COUNT calls one after another on one connection per iteration, each answer checked against its request.
// One mode: invoke, await, next. Its WebSocket twin: grpc-over-ws CALL=unary.
// Latency (measure=rtt): now() (k6/x/measure) before invoke → after it returns (grpc_req_duration beside it).
// The `monitor` export is the server-cost scenario that runs beside it.
//   k6 run -e COUNT=100 -e PAYLOAD_BYTES=256 dist/grpc-unary.js
import { scenarioOptions } from './lib/load/options.ts';
import { now } from './lib/monitor/clock.ts';
import { GRPC_ADDR } from './lib/transport/addresses.ts';
import { connect, grpcClient, okResponse } from './lib/transport/grpc.ts';
import { SERVICE, UnaryOrders, orderRequest, orders, ordersScenario, type Order } from './lib/workload/orders.ts';
import { grpcAuth } from './lib/transport/auth.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('grpc-unary', ordersScenario('unary', 'rtt'));

const CREATE = `${SERVICE}/CreateOrder`;
const client = grpcClient('orders.proto');

export default function () {
  connect(client, GRPC_ADDR);
  const params = { timeout: `${orders.timeoutMs}ms`, ...grpcAuth() };
  const calls = new UnaryOrders();
  for (let seq = 1; seq <= orders.count; seq++) {
    const sentAt = now();
    const res = client.invoke(CREATE, orderRequest(seq), params);
    if (!okResponse(res)) {
      calls.failed('call failed'); // okResponse recorded its status in rtb_errors
      break;
    }
    calls.answered(seq, res.message as Order, sentAt, now());
  }
  calls.finish();
  client.close();
}
