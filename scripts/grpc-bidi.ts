// gRPC bidirectional streaming (OrderService/ProcessOrders): the orders workload's pipeline
// (scripts/lib/workload/orders.ts), COUNT actions on one stream, each answered with its result.
// Modes: MODE=sequential (write, await the result, write the next) or pipelined (DEPTH in flight).
// Latency (measure=rtt): send → the result reaching the script, both with now() (k6/x/measure).
// The `monitor` export is the server-cost scenario beside it. Its WebSocket twin: grpc-over-ws CALL=bidi.
//   k6 run -e COUNT=1000 -e MODE=pipelined -e DEPTH=10 dist/grpc-bidi.js
import { envPipeline } from './lib/load/env.ts';
import { now } from './lib/monitor/clock.ts';
import { scenarioOptions } from './lib/load/options.ts';
import { GRPC_ADDR } from './lib/transport/addresses.ts';
import { connect, grpcClient, openStream } from './lib/transport/grpc.ts';
import { OrderPipeline, SERVICE, orders, ordersScenario, type OrderResult } from './lib/workload/orders.ts';
export { monitor } from './lib/monitor/monitor.ts';

const pipeline = envPipeline();
export const options = scenarioOptions('grpc-bidi', ordersScenario('bidi', 'rtt', { mode: pipeline.mode }));

const PROCESS = `${SERVICE}/ProcessOrders`;
const client = grpcClient('orders.proto');

export default async function () {
  connect(client, GRPC_ADDR);
  const { stream, ended } = openStream<OrderResult>(client, PROCESS, orders.timeoutMs, (r, atMs) =>
    actions.result(r, atMs),
  );
  const actions = new OrderPipeline(pipeline.depth, {
    encode: (action) => action,
    send: (action) => stream.write(action),
    end: () => stream.end(),
  });
  actions.start(now());
  const end = await ended;
  actions.finish(end.error?.status);
  client.close();
}
