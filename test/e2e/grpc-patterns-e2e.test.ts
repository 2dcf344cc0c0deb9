// End to end: the real k6 runs the four gRPC call-pattern scenarios (the orders workload) and the gRPC echo
// (the echo workload) against the real servers. Every message comes back verified (sequence complete and
// in order, payload echoed), the counts add up, and the shared metrics are in the summary.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteServers, allChecksPassed, checksOf, runK6, startServers, type K6Run } from '../helpers.ts';

const suite = suiteServers({ servers: [] }, { k6: true });

const COUNT = 40;
const PAYLOAD_BYTES = 300;

/** The metrics every pattern reports for one iteration of COUNT messages. */
function assertCounts(run: K6Run, { latency }: { latency: boolean }) {
  const m = run.summary.metrics;
  assert.equal(m.iterations.count, 1);
  assert.equal(m.rtb_messages.count, COUNT, 'every message delivered and verified');
  assert.equal(m.rtb_payload_bytes.count, COUNT * PAYLOAD_BYTES);
  assert.equal(m.rtb_batch_time.count, 1);
  assert.ok(m.rtb_batch_time.max > 0);
  assert.equal(m.rtb_connect_time.count, 1);
  assert.ok(m.rtb_messages.rate > 0, 'messages/s is reported');
  if (latency) {
    assert.equal(m.rtb_latency.count, COUNT, 'one latency sample per message');
    assert.ok(m.rtb_latency.max >= 0 && m.rtb_latency.min >= 0, 'latencies are never negative');
  } else {
    assert.equal(m.rtb_latency, undefined, 'no per-message latency where none is observable');
  }
  assert.equal(m.rtb_errors, undefined, 'no errors');
}

const env = (extra: Record<string, string> = {}) => ({
  ...suite.servers.env(),
  ITERATIONS: '1',
  COUNT: String(COUNT),
  PAYLOAD_BYTES: String(PAYLOAD_BYTES),
  ...extra,
});

describe('gRPC call patterns with the real k6', () => {
  test('grpc-unary: every CreateOrder answered with its own order', async () => {
    const run = await runK6('grpc-unary.js', env());
    const checks = allChecksPassed(run, [
      'order answers its request',
      'order total and status are right',
      'every message arrived',
    ]);
    assert.equal(checks['order answers its request']!.passes, COUNT);
    assertCounts(run, { latency: true });
    assert.equal(run.summary.metrics.grpc_req_duration.count, COUNT);
  });

  test('grpc-server-stream: COUNT orders, seq complete and in order, one-way latency per order', async () => {
    const run = await runK6('grpc-server-stream.js', env({ INTERVAL: '2ms' }));
    const checks = allChecksPassed(run, [
      'orders arrive in order, none missing',
      'order carries the note',
      'every message arrived',
    ]);
    assert.equal(checks['orders arrive in order, none missing']!.passes, COUNT);
    assertCounts(run, { latency: true });
    assert.ok(run.summary.metrics.rtb_batch_time.max >= (COUNT - 1) * 2, 'orders were paced INTERVAL apart');
  });

  test('grpc-client-stream: the server confirms COUNT orders, none missing; no per-message latency', async () => {
    const run = await runK6('grpc-client-stream.js', env());
    allChecksPassed(run, [
      'server created every order',
      'no seq missing',
      'server total matches',
      'every message arrived',
    ]);
    assertCounts(run, { latency: false });
  });

  for (const mode of ['sequential', 'pipelined']) {
    test(`grpc-bidi ${mode}: a result per action, in order, payload echoed`, async () => {
      const run = await runK6('grpc-bidi.js', env({ MODE: mode, DEPTH: '8' }));
      const checks = allChecksPassed(run, [
        'results arrive in order, none missing',
        'result echoes its action',
        'every message arrived',
      ]);
      assert.equal(checks['result echoes its action']!.passes, COUNT);
      assertCounts(run, { latency: true });
    });
  }

  test('a server that refuses the request fails the checks and the run', async () => {
    const small = await startServers(['--max-message-bytes', '2048']);
    try {
      // a note larger than the server's messages may be: INVALID_ARGUMENT before any order
      const run = await runK6('grpc-server-stream.js', {
        ...small.env(),
        ITERATIONS: '1',
        COUNT: '5',
        PAYLOAD_BYTES: '4000',
      });
      assert.notEqual(run.code, 0, 'the checks threshold makes k6 exit non-zero');
      assert.equal(checksOf(run.summary)['every message arrived']?.fails, 1);
      assert.equal(run.summary.metrics.rtb_errors.count, 1);
      assert.equal(run.summary.metrics.rtb_messages, undefined);
    } finally {
      await small.stop();
    }
  });
});

describe('gRPC echo with the real k6', () => {
  for (const [what, extra, bytes] of [
    ['text hi', {}, 2],
    ['binary 1000 B', { PAYLOAD_BYTES: '1000' }, 1000],
  ] as const) {
    test(`grpc-echo ${what}: round trips in the window, every echo equal to what was sent`, async () => {
      const run = await runK6('grpc-echo.js', { ...suite.servers.env(), ITERATIONS: '1', WINDOW: '1s', ...extra });
      const checks = allChecksPassed(run, [
        'echo equals what was sent',
        'echoes come back in order',
        'echo window completed',
      ]);
      const m = run.summary.metrics;
      const trips = m.rtb_round_trips.max as number;
      assert.equal(m.rtb_round_trips.count, 1, 'one window');
      assert.ok(trips > 10, `round trips in 1 s: ${trips}`);
      assert.equal(m.rtb_messages.count, trips);
      assert.equal(checks['echo equals what was sent']!.passes, trips);
      assert.equal(m.rtb_latency.count, trips);
      assert.equal(m.rtb_payload_bytes.count, trips * bytes);
      assert.ok(m.rtb_batch_time.max >= 990 && m.rtb_batch_time.max < 3000, 'the window lasted WINDOW');
    });
  }
});
