// Echo round trips over a plain WebSocket (/echo): the echo workload (scripts/lib/workload/echo.ts),
// one client per iteration sending for WINDOW; round trips per client in rtb_round_trips.
// Modes: MODE=sequential (one message in flight) or pipelined (DEPTH); PAYLOAD_BYTES (binary) or 'hi'.
// Latency (measure=rtt): send → the echo's message-event `timestamp` (when k6 read the frame).
// The `monitor` export is the server-cost scenario that runs beside it.   k6 run -e ITERATIONS=1 dist/ws-echo.js
import { scenarioOptions } from './lib/load/options.ts';
import { WS_URL } from './lib/transport/addresses.ts';
import { openSocket } from './lib/transport/ws.ts';
import { EchoWindow, echoScenario } from './lib/workload/echo.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('ws-echo', echoScenario('ws'));

export default function () {
  const { ws, onClosed } = openSocket(`${WS_URL}/echo`, (_ws, atMs) => echoes.start(atMs));
  const echoes = new EchoWindow(
    (payload) => ws.send(payload),
    () => ws.close(),
  );
  ws.addEventListener('message', (e) => echoes.echoed(e.data, e.timestamp));
  onClosed((code, reason) => echoes.finish(`ws closed early: ${code} ${reason}`.slice(0, 120)));
}
