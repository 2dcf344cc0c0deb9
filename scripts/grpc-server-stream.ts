// gRPC server streaming (OrderService/SubscribeOrders): the orders workload pushed by the server,
// COUNT orders INTERVAL apart (0 = as fast as flow control allows), checked in order, none missing.
// Latency (measure=oneway): server_send_ms → now() as the order reached the script, one host's clock;
// with an INTERVAL, rtb_latency_intended from when the order was due (open loop). A stream cut in
// transport (-e FAULT=outage@5s:2s) resumes after the last seq seen. `monitor`: server cost beside it.
//   k6 run -e COUNT=1000 -e INTERVAL=0ms -e PAYLOAD_BYTES=256 dist/grpc-server-stream.js
import { check } from 'k6';
import { now } from './lib/monitor/clock.ts';
import { scenarioOptions } from './lib/load/options.ts';
import { envDuration } from './lib/load/env.ts';
import { GRPC_ADDR } from './lib/transport/addresses.ts';
import { connect, grpcClient, resumableStream } from './lib/transport/grpc.ts';
import { duplicates, latency, latencyIntended, lateSend, lost, recoveryTime } from './lib/monitor/metrics.ts';
import { NOTE_B64, SERVICE, finishBatch, orders, ordersScenario, verified, type Order } from './lib/workload/orders.ts';
export { monitor } from './lib/monitor/monitor.ts';

const INTERVAL_MS = envDuration('INTERVAL', '0ms');

export const options = scenarioOptions('grpc-server-stream', ordersScenario('server-stream', 'oneway'));

const SUBSCRIBE = `${SERVICE}/SubscribeOrders`;
const client = grpcClient('orders.proto');

export default async function () {
  connect(client, GRPC_ADDR);
  const started = now();
  let last = started;
  let received = 0;
  let nextSeq = 1;
  let lostAt = 0;
  const requestedAt = now(); // order n is due n − 1 intervals after the first request
  const request = () => ({
    count: orders.count,
    intervalMs: INTERVAL_MS,
    noteBytes: orders.payloadBytes,
    afterSeq: nextSeq - 1,
  });
  const end = await resumableStream<Order>(
    client,
    GRPC_ADDR,
    SUBSCRIBE,
    orders.timeoutMs,
    request,
    (order, at) => {
      const seq = Number(order.seq);
      if (seq < nextSeq) return void duplicates.add(1);
      if (seq > nextSeq) lost.add(seq - nextSeq);
      if (lostAt) recoveryTime.add(at - lostAt);
      lostAt = 0;
      latency.add(at - order.serverSendMs);
      if (INTERVAL_MS > 0) {
        const due = requestedAt + (seq - 1) * INTERVAL_MS;
        latencyIntended.add(at - due);
        lateSend.add(Math.max(0, order.serverSendMs - due));
      }
      last = at;
      received++;
      const ok = check(order, {
        'orders arrive in order, none missing': () => seq === nextSeq,
        'order carries the note': (o) => o.note === NOTE_B64,
      });
      nextSeq = seq + 1;
      if (ok) verified();
    },
    (at) => (lostAt ||= at),
  );
  check(null, { 'recovered after the drop': () => lostAt === 0 });
  finishBatch(received, started, last, end.error?.status);
  client.close();
}
