// Echo round trips over Socket.IO (seed 002): the ws-echo workload with Socket.IO's framing,
// acks and namespace handshake on top. Each iteration is one client: it connects to the "/"
// namespace (connect time = to the namespace CONNECT ack), then for WINDOW (default 5 s) emits
// `echo` with the payload and an ack, waits for the ack (the server acks with exactly what it
// got), emits the next. Binary payloads travel as Socket.IO binary attachments.
// Per round trip latency: emit → the ack frame's message-event timestamp (when k6 read it; for a
// binary ack, its last attachment); the send time as in ws-echo (scripts/lib/workload/echo.ts).
// Round trips per window: rtb_round_trips.
// Settings (scripts/lib/workload/echo.ts): WINDOW, PAYLOAD_BYTES (binary; default the text 'hi'), MODE,
// DEPTH, TIMEOUT; the server is SOCKETIO_URL (its origin, as for the official client; the path
// is /socket.io/).
//   k6 run -e ITERATIONS=1 dist/socketio-echo.js
//   k6 run -e VUS=10 -e ITERATIONS=10 dist/socketio-echo.js
import { scenarioOptions } from './lib/load/options.ts';
import { envString } from './lib/load/env.ts';
import { EchoWindow, echoScenario } from './lib/workload/echo.ts';
import { connectSocketIO } from './lib/transport/socketio.ts';

export const options = scenarioOptions('socketio-echo', echoScenario('socketio'));

const SOCKETIO_URL = envString('SOCKETIO_URL', 'http://127.0.0.1:8080');

export default function () {
  const sio = connectSocketIO(SOCKETIO_URL, (_sio, atMs) => echoes.start(atMs));
  const echoes = new EchoWindow(
    (payload) => sio.emit('echo', payload, (args, atMs) => echoes.echoed(args[0], atMs)),
    () => sio.close(),
  );
  sio.onClosed((reason) => echoes.finish(`socketio closed early: ${reason}`));
}
