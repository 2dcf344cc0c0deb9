// gRPC tunnelled over WebSocket (seed 003): the order calls of grpc-unary and grpc-bidi, made
// through the bridge at WS_URL/grpc-ws (servers/bridge.ts) instead of straight to the gRPC
// server. The script encodes and decodes protobuf itself (protobufjs, scripts/lib/transport/grpc-ws.ts);
// the bridge forwards the bytes to the gRPC server and the answers back.
//   CALL=unary  COUNT CreateOrder calls one after another, each on its own WebSocket (one call
//               per connection); every answer is the order for its request (seq, user, note, total)
//   CALL=bidi   one ProcessOrders stream of COUNT actions (every 5th "cancel"), MODE=sequential
//               (write, await the result, write the next) or MODE=pipelined (DEPTH in flight);
//               results arrive in order and echo their action's payload and status
// PAYLOAD_BYTES of padding per message, TIMEOUT per call (scripts/lib/workload/orders.ts).
// The same checks as grpc-unary / grpc-bidi, the direct counterparts: run them with the same
// COUNT, PAYLOAD_BYTES, MODE and DEPTH and compare rtb_latency, rtb_batch_time and the wire
// bytes per message (data_sent + data_received over rtb_messages); this run's protocol tag is
// grpc-ws.
// Per-message latency (measure=rtt): send → the response's message-event `timestamp` (when k6
// read the frame, sub-millisecond). The send time is the later of Date.now() and the timestamp
// of the event whose handler sent it (the open event, or the previous result), as in
// scripts/lib/workload/echo.ts; requests are encoded before it is taken. A unary call's connection set-up
// is not in its latency: it is rtb_connect_time (one per call), and is in rtb_batch_time.
// The direct scenarios time with Date.now() only (k6's gRPC gives no event timestamps), so their
// percentiles move in whole milliseconds; rtb_batch_time / COUNT compares the means exactly.
//   k6 run -e CALL=unary -e COUNT=100 dist/grpc-over-ws.js
//   k6 run -e CALL=bidi -e COUNT=1000 -e MODE=pipelined -e DEPTH=10 dist/grpc-over-ws.js
import { check } from 'k6';
import { scenarioOptions } from './lib/load/options.ts';
import { envChoice, envCount, envString } from './lib/load/env.ts';
import { call, method, openCall, requestFrame, type Call } from './lib/transport/grpc-ws.ts';
import { latency } from './lib/monitor/metrics.ts';
import { NOTE_B64, ORDER_TOTAL, SERVICE, STATUS_FOR, actionFor, finishBatch, orderRequest, orders, ordersScenario, verified, type Order, type OrderResult } from './lib/workload/orders.ts';

const CALL = envChoice('CALL', 'unary', ['unary', 'bidi'] as const);
const MODE = envChoice('MODE', 'sequential', ['sequential', 'pipelined'] as const);
const DEPTH = MODE === 'sequential' ? 1 : envCount('DEPTH', 10, { min: 1, max: 10_000 });

export const options = scenarioOptions('grpc-over-ws', ordersScenario(CALL, 'rtt', { protocol: 'grpc-ws', ...(CALL === 'bidi' ? { mode: MODE } : {}) }));

const WS_URL = envString('WS_URL', 'ws://127.0.0.1:8080');
const CREATE = method(`${SERVICE}/CreateOrder`);
const PROCESS = method(`${SERVICE}/ProcessOrders`);


async function unary(): Promise<void> {
  const started = Date.now();
  let last = started;
  let answered = 0;
  let failure: string | undefined;
  for (let seq = 1; seq <= orders.count; seq++) {
    const { responses, status, sentAtMs } = await call<Order>(WS_URL, CREATE, [orderRequest(seq)], { timeoutMs: orders.timeoutMs });
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
    const ok = check(responses, {
      'one order per call': (r) => r.length === 1,
      'order answers its request': (r) => Number(r[0]?.message.seq) === seq && r[0]?.message.userId === `vu-${__VU}` && r[0]?.message.note === NOTE_B64,
      'order total and status are right': (r) => r[0]?.message.total === ORDER_TOTAL && r[0]?.message.status === 'CONFIRMED',
    });
    if (ok) verified();
  }
  finishBatch(answered, started, last, failure);
}

async function bidi(): Promise<void> {
  const sentAt: number[] = [];
  let nextToSend = 1;
  let nextResult = 1;
  let started = 0;
  let last = 0;
  let halfClosed = false;

  // Keeps DEPTH actions in flight; half-closes once every result is in. `eventMs`: the timestamp
  // of the event whose handler is sending (see the header).
  const fill = (c: Call, eventMs: number) => {
    while (nextToSend <= orders.count && nextToSend - nextResult < DEPTH) {
      const seq = nextToSend++;
      const frame = requestFrame(PROCESS, { orderId: `o-${seq}`, action: actionFor(seq), seq, payload: NOTE_B64 });
      sentAt[seq] = Math.max(Date.now(), eventMs);
      c.send(frame);
    }
    if (nextResult > orders.count && !halfClosed) {
      halfClosed = true;
      c.end();
    }
  };

  const stream: Call = openCall<OrderResult>(WS_URL, PROCESS, {
    onOpen: (c, atMs) => {
      started = Math.max(Date.now(), atMs);
      fill(c, atMs);
    },
    onMessage: (result, atMs) => {
      const seq = Number(result.seq);
      const ok = check(result, {
        'results arrive in order, none missing': () => seq === nextResult,
        'result echoes its action': (r) => r.payload === NOTE_B64 && r.orderId === `o-${seq}` && r.status === STATUS_FOR[actionFor(seq)],
      });
      if (sentAt[seq] !== undefined) latency.add(atMs - sentAt[seq]!);
      if (ok) verified();
      nextResult = seq + 1;
      last = atMs;
      fill(stream, atMs);
    },
  }, { timeoutMs: orders.timeoutMs });

  const status = await stream.ended;
  finishBatch(nextResult - 1, started, last, status.code === 0 ? undefined : status.status);
}

export default async function () {
  await (CALL === 'unary' ? unary() : bidi());
}
