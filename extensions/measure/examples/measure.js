// k6/x/measure in one script: the clock, the generator's cost, the lag probe and the raw gRPC
// client (against rtbench's servers: `npm run servers`, then
// `npm run k6 -- run extensions/measure/examples/measure.js`).
import { check } from 'k6';
import { now, generator, startLagProbe, RawGrpcClient } from 'k6/x/measure';

export const options = { iterations: 1, thresholds: { checks: ['rate==1'] } };

const GRPC_ADDR = __ENV.GRPC_ADDR || '127.0.0.1:50051';

// rtbench.echo.v1.EchoMessage { seq: 1, payload: 'hi' }, encoded by hand: field 1 varint 1,
// field 2 length-delimited 2 bytes.
const ECHO_REQUEST = new Uint8Array([0x08, 0x01, 0x12, 0x02, 0x68, 0x69]).buffer;

export default async function () {
  const before = generator();
  const stop = startLagProbe(10);

  // now(): ms since the Unix epoch, fractional, monotonic.
  const t0 = now();
  const t1 = now();
  check(null, { 'now() is sub-millisecond and monotonic': () => t1 >= t0 && t1 - t0 < 1 && t0 % 1 !== 0 });

  const client = new RawGrpcClient();
  client.connect(GRPC_ADDR, { timeout: '5s' });
  const res = client.invoke('/rtbench.echo.v1.EchoService/Echo', ECHO_REQUEST);
  const back = await client.asyncInvoke('/rtbench.echo.v1.EchoService/Echo', [
    ECHO_REQUEST.slice(0, 2),
    ECHO_REQUEST.slice(2),
  ]);
  client.close();
  // The server re-encodes the message it echoes, so the answer starts with our fields and may add
  // client_send_ms (field 3) at its default.
  const same = (ab) => ab !== null && new Uint8Array(ab).slice(0, 6).join() === new Uint8Array(ECHO_REQUEST).join();
  check(res, {
    'raw call answered OK with the bytes sent': (r) => r.status === 0 && same(r.message),
    'raw call timed in Go': (r) => r.durationMs > 0 && r.endMs - r.startMs === r.durationMs,
  });
  check(back, { 'async raw call, payload given in parts': (r) => r.status === 0 && same(r.message) });
  stop();

  const after = generator();
  console.log(
    `round trip ${res.durationMs.toFixed(3)} ms; k6 used ${(after.cpuUserMs + after.cpuSystemMs - before.cpuUserMs - before.cpuSystemMs).toFixed(1)} ms CPU,` +
      ` RSS ${(after.rssBytes / 2 ** 20).toFixed(0)} MiB, GC pauses ${after.gcPauseMs.toFixed(2)} ms, ${after.cores} cores`,
  );
  check(after, { 'generator() reports the process': (g) => g.rssBytes > 0 && g.cores >= 1 && g.cpuUserMs > 0 });
}
