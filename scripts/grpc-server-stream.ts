// gRPC server streaming (seed 004, server push): rtbench.orders.v1.OrderService/SubscribeOrders
// asks for COUNT orders, INTERVAL apart (0 = as fast as flow control allows), each with
// PAYLOAD_BYTES of note; the server stamps every order with `seq` and `server_send_ms`.
// Checks: orders arrive in order with none missing (seq 1..COUNT), each carries the expected
// note, the stream ends OK after exactly COUNT. WebSocket counterpart: ws-feed (server push).
// Per-message latency (measure=oneway): server_send_ms → Date.now() when the order reached the
// script. Both clocks are this host's, so this only holds with k6 and the server on one machine
// (the default). k6's clock is whole ms, so the server stamp is floored to the same ms grid:
// a sample is never negative, and is the one-way time in 1 ms steps.
// rtb_batch_time: stream opened → last order; messages/s: rtb_messages' rate.
//   k6 run -e COUNT=1000 -e INTERVAL=0ms -e PAYLOAD_BYTES=256 dist/grpc-server-stream.js
import { check } from 'k6';
import { scenarioOptions } from './lib/load/options.ts';
import { envDuration } from './lib/load/env.ts';
import { connect, grpcClient, openStream } from './lib/transport/grpc.ts';
import { latency } from './lib/monitor/metrics.ts';
import { GRPC_ADDR, NOTE_B64, SERVICE, finishBatch, orders, ordersScenario, verified, type Order } from './lib/workload/orders.ts';

const INTERVAL_MS = envDuration('INTERVAL', '0ms');

export const options = scenarioOptions('grpc-server-stream', ordersScenario('server-stream', 'oneway'));

const SUBSCRIBE = `${SERVICE}/SubscribeOrders`;
const client = grpcClient('orders.proto');

export default async function () {
  connect(client, GRPC_ADDR);
  const started = Date.now();
  let last = started;
  let received = 0;
  let nextSeq = 1;
  const { stream, ended } = openStream<Order>(client, SUBSCRIBE, orders.timeoutMs, (order, at) => {
    latency.add(at - Math.floor(order.serverSendMs));
    last = at;
    received++;
    const seq = Number(order.seq);
    const ok = check(order, {
      'orders arrive in order, none missing': () => seq === nextSeq,
      'order carries the note': (o) => o.note === NOTE_B64,
    });
    nextSeq = seq + 1;
    if (ok) verified();
  });
  stream.write({ count: orders.count, intervalMs: INTERVAL_MS, noteBytes: orders.payloadBytes });
  stream.end();
  const end = await ended;
  finishBatch(received, started, last, end.error?.status);
  client.close();
}
