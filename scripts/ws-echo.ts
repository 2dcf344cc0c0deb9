// Echo round trips over a plain WebSocket (seed 002). Each iteration is one client: it opens a
// WebSocket to /echo, then for WINDOW (default 5 s) sends a message, waits for the same message
// back, sends the next; the server echoes every frame unchanged (text as text, binary as binary).
// Per round trip latency: send → the echo's message-event timestamp (when k6 read the frame);
// the send time is the later of Date.now() and the timestamp of the event whose handler sent it
// (k6's script clock has whole milliseconds only: see scripts/lib/workload/echo.ts).
// Round trips per window: rtb_round_trips (one sample per client window).
// Settings (scripts/lib/workload/echo.ts): WINDOW, PAYLOAD_BYTES (binary; default the text 'hi'), MODE,
// DEPTH, TIMEOUT; the server is WS_URL (its origin; the path is /echo).
//   k6 run -e ITERATIONS=1 dist/ws-echo.js                  round trips in 5 s on one connection
//   k6 run -e VUS=10 -e ITERATIONS=10 dist/ws-echo.js       10 clients at once: min/avg/max per client
import { scenarioOptions } from './lib/load/options.ts';
import { envString } from './lib/load/env.ts';
import { EchoWindow, echoScenario } from './lib/workload/echo.ts';
import { on, openSocket } from './lib/transport/ws.ts';

export const options = scenarioOptions('ws-echo', echoScenario('ws'));

const WS_URL = envString('WS_URL', 'ws://127.0.0.1:8080');

export default function () {
  const { ws, onClosed } = openSocket(`${WS_URL}/echo`, (_ws, atMs) => echoes.start(atMs));
  const echoes = new EchoWindow(
    (payload) => ws.send(payload),
    () => ws.close(),
  );
  on(ws, 'message', (e) => echoes.echoed(e.data, e.timestamp));
  onClosed((code, reason) => echoes.finish(`ws closed early: ${code} ${reason}`.slice(0, 120)));
}
