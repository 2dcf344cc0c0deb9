// gRPC client streaming (OrderService/BulkCreateOrders): the orders workload, an upload of COUNT
// orders (seq 1..COUNT, PAYLOAD_BYTES of note) on one stream; the server answers once with what it saw.
// One mode. Checks: created == COUNT, no seq missing, total == COUNT × one order's total.
// Latency: none per message (writes are queued and flow-controlled; the only answer follows the last):
// no rtb_latency (measure=batch), only rtb_batch_time and rtb_messages. `monitor`: server cost beside it.
//   k6 run -e COUNT=1000 -e PAYLOAD_BYTES=256 dist/grpc-client-stream.js
import { check } from 'k6';
import { now } from './lib/monitor/clock.ts';
import { scenarioOptions } from './lib/load/options.ts';
import { GRPC_ADDR } from './lib/transport/addresses.ts';
import { connect, grpcClient, openStream } from './lib/transport/grpc.ts';
import {
  ORDER_TOTAL,
  SERVICE,
  finishBatch,
  orderRequest,
  orders,
  ordersScenario,
  verified,
} from './lib/workload/orders.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('grpc-client-stream', ordersScenario('client-stream', 'batch'));

const BULK = `${SERVICE}/BulkCreateOrders`;
const client = grpcClient('orders.proto');

interface BulkResponse {
  created: number;
  total: number;
  seqsMissing: string[];
}

export default async function () {
  connect(client, GRPC_ADDR);
  let response: BulkResponse | undefined;
  let answeredAt = 0;
  const { stream, ended } = openStream<BulkResponse>(client, BULK, orders.timeoutMs, (r, at) => {
    response = r;
    answeredAt = at;
  });
  const started = now();
  for (let seq = 1; seq <= orders.count; seq++) stream.write(orderRequest(seq));
  stream.end();
  const end = await ended;
  const ok = check(response, {
    'server created every order': (r) => r !== undefined && r.created === orders.count,
    'no seq missing': (r) => r !== undefined && r.seqsMissing.length === 0,
    'server total matches': (r) => r !== undefined && r.total === orders.count * ORDER_TOTAL,
  });
  if (ok) verified(orders.count);
  finishBatch(ok ? orders.count : 0, started, answeredAt, end.error?.status);
  client.close();
}
