// Echo round trips over gRPC (seed 002): rtbench.echo.v1.EchoService/EchoStream, one bidi stream
// per iteration; send a message, await its echo, send the next, for WINDOW (default 5 s); count
// the round trips (rtb_round_trips). The same measure and metrics as ws-echo and socketio-echo
// (scripts/lib/workload/echo.ts): payload the text 'hi' by default, or PAYLOAD_BYTES of binary; MODE and
// DEPTH as there.
// Checks: every echo equals what was sent (decoded from the base64 k6 gives `bytes` fields),
// carries the seq it was sent with, and the window completes.
// Per round trip (measure=rtt): Date.now() at write → the echo reaching the script, whole ms
// (see scripts/lib/transport/grpc.ts). ws-echo takes the echo time from the WebSocket event's sub-ms
// timestamp, so compare the round-trip counts (or rtb_batch_time / rtb_round_trips) first.
//   k6 run -e ITERATIONS=1 -e WINDOW=5s dist/grpc-echo.js
import { check } from 'k6';
import { b64decode, b64encode } from 'k6/encoding';
import { scenarioOptions } from './lib/load/options.ts';
import { envString } from './lib/load/env.ts';
import { connect, grpcClient, openStream } from './lib/transport/grpc.ts';
import { EchoWindow, echo, echoScenario, PAYLOAD, type Payload } from './lib/workload/echo.ts';

export const options = scenarioOptions('grpc-echo', echoScenario('grpc'));

const GRPC_ADDR = envString('GRPC_ADDR', '127.0.0.1:50051');
const ECHO_STREAM = 'rtbench.echo.v1.EchoService/EchoStream';
const PAYLOAD_B64 = b64encode(PAYLOAD);
const client = grpcClient('echo.proto');

interface EchoMessage {
  seq: string;
  payload: string;
}

/** What came back, decoded to the payload's own type, so the echo check compares like with like. */
const decoded = (b64: string): Payload => (typeof PAYLOAD === 'string' ? b64decode(b64, 'std', 's') : b64decode(b64));

export default async function () {
  connect(client, GRPC_ADDR);
  let sent = 0;
  let nextEcho = 1;
  let window: EchoWindow | undefined;
  // The window's own deadline (WINDOW + TIMEOUT) fires first and names the timeout; the
  // stream's is a backstop.
  const { stream, ended } = openStream<EchoMessage>(client, ECHO_STREAM, echo.windowMs + echo.timeoutMs + 5000, (m, at) => {
    const seq = Number(m.seq);
    check(seq, { 'echoes come back in order': (s) => s === nextEcho });
    nextEcho = seq + 1;
    window!.echoed(decoded(m.payload), at);
  });
  window = new EchoWindow(
    () => stream.write({ seq: ++sent, payload: PAYLOAD_B64 }),
    () => stream.end(),
  );
  window.start(Date.now());
  const end = await ended;
  window.finish(end.error ? `grpc ${end.error.status}` : 'stream ended early'); // no-op if the window completed
  client.close();
}
