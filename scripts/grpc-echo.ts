// Echo round trips over gRPC (EchoService/EchoStream, one bidi stream per iteration): the echo
// workload (scripts/lib/workload/echo.ts); each echo also carries the seq it was sent with.
// Modes: MODE=sequential (one message in flight) or pipelined (DEPTH); PAYLOAD_BYTES (binary) or 'hi'.
// Latency (measure=rtt): now() (k6/x/measure) at write → now() as the echo reaches the script (k6's
// gRPC has no event timestamps). The `monitor` export is the server-cost scenario.   k6 run -e ITERATIONS=1 dist/grpc-echo.js
import { check } from 'k6';
import { b64decode, b64encode } from 'k6/encoding';
import { now } from './lib/monitor/clock.ts';
import { scenarioOptions } from './lib/load/options.ts';
import { GRPC_ADDR } from './lib/transport/addresses.ts';
import { connect, grpcClient, openStream } from './lib/transport/grpc.ts';
import { EchoWindow, echo, echoScenario, PAYLOAD, type Payload } from './lib/workload/echo.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('grpc-echo', echoScenario('grpc'));

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
  // The window's own deadline (WINDOW + TIMEOUT) fires first and names the timeout; the stream's is a backstop.
  const timeoutMs = echo.windowMs + echo.timeoutMs + 5000;
  const { stream, ended } = openStream<EchoMessage>(client, ECHO_STREAM, timeoutMs, (m, at) => {
    const seq = Number(m.seq);
    check(seq, { 'echoes come back in order': (s) => s === nextEcho });
    nextEcho = seq + 1;
    echoes.echoed(decoded(m.payload), at);
  });
  const echoes = new EchoWindow(
    () => stream.write({ seq: ++sent, payload: PAYLOAD_B64 }),
    () => stream.end(),
  );
  echoes.start(now());
  const end = await ended;
  echoes.finish(end.error ? `grpc ${end.error.status}` : 'stream ended early'); // no-op if the window completed
  client.close();
}
