// gRPC client streaming (seed 004, upload): rtbench.orders.v1.OrderService/BulkCreateOrders,
// COUNT CreateOrderRequests (seq 1..COUNT, PAYLOAD_BYTES of note each) written on one stream,
// then end; the server answers once with what it saw. Checks: created == COUNT, no seq missing,
// total == COUNT × one order's total. WebSocket counterpart: ws-image (an upload).
// Latency: per-message latency does not exist for client streaming. The client's writes are
// queued and flow-controlled by HTTP/2, and the only answer comes after the last one, so no
// message has a moment it is known to have arrived. This scenario records NO rtb_latency
// (measure=batch). What it measures is the whole upload, first write → the server's answer
// (rtb_batch_time), and messages/s (rtb_messages, counted when the server confirms them).
//   k6 run -e COUNT=1000 -e PAYLOAD_BYTES=256 dist/grpc-client-stream.js
import { check } from 'k6';
import { scenarioOptions } from './lib/load/options.ts';
import { connect, grpcClient, openStream } from './lib/transport/grpc.ts';
import { GRPC_ADDR, ORDER_TOTAL, SERVICE, finishBatch, orderRequest, orders, ordersScenario, verified } from './lib/workload/orders.ts';

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
  const started = Date.now();
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
