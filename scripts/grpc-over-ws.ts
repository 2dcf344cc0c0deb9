// gRPC tunnelled over WebSocket: the orders workload (scripts/lib/workload/orders.ts) through the
// bridge at WS_URL/grpc-ws, protobuf encoded in the script (scripts/lib/transport/grpc-ws.ts).
// Modes: CALL=unary (COUNT CreateOrder calls, one WebSocket each, as grpc-unary) or CALL=bidi (one
// ProcessOrders stream, MODE/DEPTH as grpc-bidi). Latency (measure=rtt): send → the response's message-event
// `timestamp`; a unary call's connect is rtb_connect_time. The `monitor` export runs beside it.
//   k6 run -e CALL=bidi -e COUNT=1000 -e MODE=pipelined -e DEPTH=10 dist/grpc-over-ws.js
import { check } from 'k6';
import { envChoice, envPipeline } from './lib/load/env.ts';
import { scenarioOptions } from './lib/load/options.ts';
import { latency } from './lib/monitor/metrics.ts';
import { WS_URL } from './lib/transport/addresses.ts';
import { call, method, openCall, requestFrame } from './lib/transport/grpc-ws.ts';
import {
  OrderPipeline,
  SERVICE,
  orders,
  ordersScenario,
  finishBatch,
  orderAnswers,
  orderRequest,
  verified,
  type Order,
  type OrderResult,
} from './lib/workload/orders.ts';
export { monitor } from './lib/monitor/monitor.ts';

const CALL = envChoice('CALL', 'unary', ['unary', 'bidi'] as const);
const pipeline = envPipeline();
const tags = { protocol: 'grpc-ws', ...(CALL === 'bidi' ? { mode: pipeline.mode } : {}) };
export const options = scenarioOptions('grpc-over-ws', ordersScenario(CALL, 'rtt', tags));

const PROCESS = method(`${SERVICE}/ProcessOrders`);
const CREATE = method(`${SERVICE}/CreateOrder`);

async function bidi(): Promise<void> {
  const stream = openCall<OrderResult>(
    WS_URL,
    PROCESS,
    { onOpen: (_call, atMs) => actions.start(atMs), onMessage: (r, atMs) => actions.result(r, atMs) },
    { timeoutMs: orders.timeoutMs },
  );
  const actions = new OrderPipeline(pipeline.depth, {
    encode: (action) => requestFrame(PROCESS, action),
    send: (frame) => stream.send(frame),
    end: () => stream.end(),
  });
  const end = await stream.ended;
  actions.finish(end.code === 0 ? undefined : end.status);
}

async function unary(): Promise<void> {
  const started = Date.now();
  let last = started;
  let answered = 0;
  let failure: string | undefined;
  for (let seq = 1; seq <= orders.count; seq++) {
    const options = { timeoutMs: orders.timeoutMs };
    const { responses, status, sentAtMs } = await call<Order>(WS_URL, CREATE, [orderRequest(seq)], options);
    if (status.code !== 0) {
      failure = status.status; // the call recorded it in rtb_errors
      break;
    }
    const answer = responses[0];
    if (answer) {
      latency.add(answer.atMs - sentAtMs);
      last = answer.atMs;
      answered++;
    }
    const one = check(responses, { 'one order per call': (r) => r.length === 1 });
    if (orderAnswers(answer?.message, seq) && one) verified();
  }
  finishBatch(answered, started, last, failure);
}

export default async function () {
  await (CALL === 'unary' ? unary() : bidi());
}
