// gRPC over WebSocket, a bidi stream that outlives its connection: one ProcessOrders call through
// the bridge at WS_URL/grpc-ws, an action every INTERVAL (50 ms), COUNT of them, each answered by
// its result. When the connection is lost (-e FAULT=outage@5s:2s, applied through toxiproxy) the
// call is opened again with backoff and resumes after the last result seen: the actions not yet
// answered are sent again, then the pace goes on. Results are accounted as a feed's messages
// (Subscription): gaps in rtb_lost, repeats in rtb_duplicates, rtb_recovery_time from the lost
// connection to the first result again. Latency (measure=rtt): the action's send → its result's
// message-event `timestamp` (after a loss, from the send that was answered).
//   k6 run -e COUNT=100 -e INTERVAL=50ms dist/grpc-ws-stream.js
import { check } from 'k6';
import { clearInterval, setInterval } from 'k6/timers';
import { now } from './lib/monitor/clock.ts';
import { envDuration } from './lib/load/env.ts';
import { scenarioOptions } from './lib/load/options.ts';
import { WS_URL } from './lib/transport/addresses.ts';
import { method, requestFrame, resumableCall, type Call } from './lib/transport/grpc-ws.ts';
import { Subscription } from './lib/workload/feed.ts';
import {
  NOTE_B64,
  SERVICE,
  STATUS_FOR,
  actionFor,
  finishBatch,
  orders,
  ordersScenario,
} from './lib/workload/orders.ts';
import type { OrderResult } from './lib/workload/orders.ts';
export { monitor } from './lib/monitor/monitor.ts';

const INTERVAL_MS = Math.max(1, envDuration('INTERVAL', '50ms'));

const scenario = ordersScenario('bidi', 'rtt', { protocol: 'grpc-ws', mode: 'paced' });
export const options = scenarioOptions('grpc-ws-stream', {
  ...scenario,
  thresholds: { ...scenario.thresholds, rtb_lost: ['count==0'], rtb_duplicates: ['count==0'] },
});

const PROCESS = method(`${SERVICE}/ProcessOrders`);

export default async function () {
  const results = new Subscription();
  const sentAt: number[] = [];
  const started = now();
  let due = 0; // actions due so far: one more every INTERVAL
  let call: Call | null = null; // the open call; null while the connection is lost
  let halfClosed: Call | null = null;
  const endOnceAnswered = () => {
    if (results.lastSeq !== orders.count || !call || halfClosed === call) return;
    halfClosed = call;
    call.end(); // every result is in: the server ends the call with OK
  };

  const send = (seq: number) => {
    const frame = requestFrame(PROCESS, { orderId: `o-${seq}`, action: actionFor(seq), seq, payload: NOTE_B64 });
    sentAt[seq] = now();
    call!.send(frame);
  };
  const pace = setInterval(() => {
    due++;
    if (call) send(due);
    if (due === orders.count) clearInterval(pace);
  }, INTERVAL_MS);

  const end = await resumableCall<OrderResult>(
    WS_URL,
    PROCESS,
    {
      onOpen: (opened) => {
        call = opened;
        for (let seq = results.lastSeq + 1; seq <= due; seq++) send(seq); // resume after the last result
        endOnceAnswered();
      },
      onMessage: (result, atMs) => {
        const seq = Number(result.seq);
        const intact = check(result, {
          'result echoes its action': (r) =>
            r.payload === NOTE_B64 && r.orderId === `o-${seq}` && r.status === STATUS_FOR[actionFor(seq)],
        });
        results.arrived(seq, sentAt[seq] ?? atMs, atMs, intact, orders.payloadBytes);
        endOnceAnswered();
      },
      onLost: (atMs) => {
        call = null;
        results.disconnected(atMs);
      },
    },
    { timeoutMs: orders.timeoutMs },
  );
  clearInterval(pace);
  results.finish(false);
  finishBatch(results.received, started, results.lastReadAt, end.code === 0 ? undefined : end.status);
}
