// gRPC tunnelled over WebSocket: the orders workload (scripts/lib/workload/orders.ts) through the
// bridge at WS_URL/grpc-ws, protobuf encoded in the script (scripts/lib/transport/grpc-ws.ts).
// Modes: CALL=unary (COUNT CreateOrder calls, one WebSocket each, as grpc-unary) or CALL=bidi (one
// ProcessOrders stream, MODE/DEPTH as grpc-bidi). Latency (measure=rtt): send → the response's message-event
// `timestamp`; a unary call's connect is rtb_connect_time. The `monitor` export runs beside it.
//   k6 run -e CALL=bidi -e COUNT=1000 -e MODE=pipelined -e DEPTH=10 dist/grpc-over-ws.js
import { check } from 'k6';
import { envChoice, envPipeline } from './lib/load/env.ts';
import { scenarioOptions } from './lib/load/options.ts';
import { WS_URL } from './lib/transport/addresses.ts';
import { call, method, openCall, requestFrame } from './lib/transport/grpc-ws.ts';
import { OrderPipeline, SERVICE, orders, ordersScenario, type OrderResult } from './lib/workload/orders.ts';
import { UnaryOrders, orderRequest, type Order } from './lib/workload/orders.ts';
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
  const calls = new UnaryOrders();
  for (let seq = 1; seq <= orders.count; seq++) {
    const options = { timeoutMs: orders.timeoutMs };
    const { responses, status, sentAtMs } = await call<Order>(WS_URL, CREATE, [orderRequest(seq)], options);
    if (status.code !== 0) {
      calls.failed(status.status); // the call recorded it in rtb_errors
      break;
    }
    const one = check(responses, { 'one order per call': (r) => r.length === 1 });
    calls.answered(seq, responses[0]?.message, sentAtMs, responses[0]?.atMs, one);
  }
  calls.finish();
}

export default async function () {
  await (CALL === 'unary' ? unary() : bidi());
}
