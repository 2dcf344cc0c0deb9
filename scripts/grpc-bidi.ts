// gRPC bidirectional streaming (seed 004, both ways): rtbench.orders.v1.OrderService/ProcessOrders,
// COUNT OrderActions (every 5th a "cancel", the rest "process"; PAYLOAD_BYTES of payload each)
// on one stream; the server answers each with an OrderResult carrying the same seq and payload.
//   MODE=sequential  ping-pong: write an action, await its result, write the next
//   MODE=pipelined   DEPTH actions in flight (-e DEPTH=10): a new one for every result
// Checks: results come back in order (by seq), each echoes its payload with the status its
// action asks for, and all COUNT arrive before the stream ends OK.
// WebSocket counterpart: ws-echo with MODE=pipelined.
// Per-message latency (measure=rtt): Date.now() at write → the matching result (by seq) reaching
// the script, whole ms (see scripts/lib/transport/grpc.ts). In pipelined mode it includes the time a result
// waits behind the ones ahead of it, as it would for any pipelined client.
// rtb_batch_time: first write → last result; messages/s: rtb_messages' rate.
//   k6 run -e COUNT=1000 -e MODE=pipelined -e DEPTH=10 dist/grpc-bidi.js
import { check } from 'k6';
import { scenarioOptions } from './lib/load/options.ts';
import { envChoice, envCount } from './lib/load/env.ts';
import { connect, grpcClient, openStream } from './lib/transport/grpc.ts';
import { latency } from './lib/monitor/metrics.ts';
import { GRPC_ADDR, NOTE_B64, SERVICE, STATUS_FOR, actionFor, finishBatch, orders, ordersScenario, verified, type OrderResult } from './lib/workload/orders.ts';

const MODE = envChoice('MODE', 'sequential', ['sequential', 'pipelined'] as const);
const DEPTH = MODE === 'sequential' ? 1 : envCount('DEPTH', 10, { min: 1, max: 10_000 });

export const options = scenarioOptions('grpc-bidi', ordersScenario('bidi', 'rtt', { mode: MODE }));

const PROCESS = `${SERVICE}/ProcessOrders`;
const client = grpcClient('orders.proto');


export default async function () {
  connect(client, GRPC_ADDR);
  const sentAt: number[] = [];
  let nextToSend = 1;
  let nextResult = 1;
  let last = 0;

  const { stream, ended } = openStream<OrderResult>(client, PROCESS, orders.timeoutMs, (result, at) => {
    const seq = Number(result.seq);
    const ok = check(result, {
      'results arrive in order, none missing': () => seq === nextResult,
      'result echoes its action': (r) => r.payload === NOTE_B64 && r.orderId === `o-${seq}` && r.status === STATUS_FOR[actionFor(seq)],
    });
    if (sentAt[seq] !== undefined) latency.add(at - sentAt[seq]!);
    if (ok) verified();
    nextResult = seq + 1;
    last = at;
    fill();
  });

  // Keeps DEPTH actions in flight; ends the stream once every result is in.
  const fill = () => {
    while (nextToSend <= orders.count && nextToSend - nextResult < DEPTH) {
      const seq = nextToSend++;
      sentAt[seq] = Date.now();
      stream.write({ orderId: `o-${seq}`, action: actionFor(seq), seq, payload: NOTE_B64 });
    }
    if (nextResult > orders.count) stream.end();
  };

  const started = Date.now();
  fill();
  const end = await ended;
  finishBatch(nextResult - 1, started, last, end.error?.status);
  client.close();
}
