// gRPC unary calls (seed 004, request/response): rtbench.orders.v1.OrderService/CreateOrder,
// COUNT calls one after another on one connection per iteration (invoke, await, next). Each
// answer is checked: it is the order for the request (seq, user, note echoed, total, status).
// WebSocket counterpart: ws-echo (a message and its answer).
// Per-message latency (measure=rtt): Date.now() before invoke → after it returns, whole ms (see
// scripts/lib/transport/grpc.ts); k6's own grpc_req_duration, timed in Go per call, is reported beside it.
// rtb_batch_time: the iteration's COUNT calls; messages/s: rtb_messages' rate.
//   k6 run -e COUNT=100 -e PAYLOAD_BYTES=256 dist/grpc-unary.js
import { check } from 'k6';
import { scenarioOptions } from './lib/load/options.ts';
import { connect, grpcClient, okResponse } from './lib/transport/grpc.ts';
import { latency } from './lib/monitor/metrics.ts';
import { GRPC_ADDR, NOTE_B64, ORDER_TOTAL, SERVICE, finishBatch, orderRequest, orders, ordersScenario, verified, type Order } from './lib/workload/orders.ts';

export const options = scenarioOptions('grpc-unary', ordersScenario('unary', 'rtt'));

const CREATE = `${SERVICE}/CreateOrder`;
const client = grpcClient('orders.proto');

export default function () {
  connect(client, GRPC_ADDR);
  const params = { timeout: `${orders.timeoutMs}ms` };
  const started = Date.now();
  let last = started;
  let answered = 0;
  let failure: string | undefined;
  for (let seq = 1; seq <= orders.count; seq++) {
    const sentAt = Date.now();
    const res = client.invoke(CREATE, orderRequest(seq), params);
    last = Date.now();
    if (!okResponse(res)) {
      failure = 'call failed'; // okResponse recorded its status in rtb_errors
      break;
    }
    latency.add(last - sentAt);
    answered++;
    const ok = check(res.message as Order, {
      'order answers its request': (o) => Number(o.seq) === seq && o.userId === `vu-${__VU}` && o.note === NOTE_B64,
      'order total and status are right': (o) => o.total === ORDER_TOTAL && o.status === 'CONFIRMED',
    });
    if (ok) verified();
  }
  finishBatch(answered, started, last, failure);
  client.close();
}
