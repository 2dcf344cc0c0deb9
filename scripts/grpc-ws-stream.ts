// gRPC over WebSocket, a bidi stream that outlives its connection: one ProcessOrders call through
// the bridge, an action every INTERVAL (50 ms), COUNT of them. A lost connection (-e FAULT=… through
// toxiproxy) reopens the call with backoff and resumes after the last result (ResumableOrders:
// rtb_lost, rtb_duplicates, rtb_recovery_time as the feeds). Latency (measure=rtt): the answered
// send → the result's message-event `timestamp`.
//   k6 run -e COUNT=100 -e INTERVAL=50ms dist/grpc-ws-stream.js
import { envDuration } from './lib/load/env.ts';
import { scenarioOptions } from './lib/load/options.ts';
import { WS_URL } from './lib/transport/addresses.ts';
import { method, requestFrame, resumableCall } from './lib/transport/grpc-ws.ts';
import { SERVICE, orders, ordersScenario, type OrderResult } from './lib/workload/orders.ts';
import { ResumableOrders } from './lib/workload/resumable-orders.ts';
export { monitor } from './lib/monitor/monitor.ts';

const INTERVAL_MS = Math.max(1, envDuration('INTERVAL', '50ms'));

const scenario = ordersScenario('bidi', 'rtt', { protocol: 'grpc-ws', mode: 'paced' });
export const options = scenarioOptions('grpc-ws-stream', {
  ...scenario,
  thresholds: { ...scenario.thresholds, rtb_lost: ['count==0'], rtb_duplicates: ['count==0'] },
});

const PROCESS = method(`${SERVICE}/ProcessOrders`);

export default async function () {
  const actions = new ResumableOrders<Uint8Array>(INTERVAL_MS);
  const end = await resumableCall<OrderResult>(
    WS_URL,
    PROCESS,
    {
      onOpen: (call) =>
        actions.opened({
          encode: (action) => requestFrame(PROCESS, action),
          send: (frame) => call.send(frame),
          end: () => call.end(),
        }),
      onMessage: (result, atMs) => actions.result(result, atMs),
      onLost: (atMs) => actions.lost(atMs),
    },
    { timeoutMs: orders.timeoutMs },
  );
  actions.finish(end.code === 0 ? undefined : end.status);
}
