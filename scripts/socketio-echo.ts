// Echo round trips over Socket.IO (namespace "/", `echo` events with acks): the echo workload
// (scripts/lib/workload/echo.ts) with Socket.IO's framing on top; connect time ends at the CONNECT ack.
// Modes: MODE=sequential (one emit in flight) or pipelined (DEPTH); PAYLOAD_BYTES travel as attachments.
// Latency (measure=rtt): emit → the ack frame's message-event `timestamp` (for a binary ack, its last part).
// The `monitor` export is the server-cost scenario that runs beside it.   k6 run -e ITERATIONS=1 dist/socketio-echo.js
import { scenarioOptions } from './lib/load/options.ts';
import { SOCKETIO_URL } from './lib/transport/addresses.ts';
import { connectSocketIO } from './lib/transport/socketio.ts';
import { EchoWindow, echoScenario } from './lib/workload/echo.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('socketio-echo', echoScenario('socketio'));

export default function () {
  const sio = connectSocketIO(SOCKETIO_URL, (_sio, atMs) => echoes.start(atMs));
  const echoes = new EchoWindow(
    (payload) => sio.emit('echo', payload, (args, atMs) => echoes.echoed(args[0], atMs)),
    () => sio.close(),
  );
  sio.onClosed((reason) => echoes.finish(`socketio closed early: ${reason}`));
}
