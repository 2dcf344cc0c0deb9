// k6/x/measure, our measurement extension, in the real k6 against the real servers: its example
// runs and passes its checks; every monitored scenario samples the generator's own cost into
// rtb_generator_* metrics of the same run; latencies taken with now() are not whole milliseconds.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runK6, suiteServers } from '../helpers.ts';
import { formatK6VsNative, k6VsNativeFor } from '../../tools/bench.mjs';

describe('k6/x/measure', { timeout: 300_000 }, () => {
  const suite = suiteServers({ servers: [] }, { k6: true });

  test('the example runs: clock, raw gRPC calls, lag probe and generator() all check out', async () => {
    const run = await runK6('../extensions/measure/examples/measure.js', suite.servers.env());
    assert.equal(run.code, 0, run.stderr.slice(-2000));
    assert.equal(run.summary.metrics.checks.fails, 0);
    assert.ok(run.summary.metrics.checks.passes >= 5);
    assert.match(run.stderr + run.stdout, /round trip \d+\.\d{3} ms; k6 used [\d.]+ ms CPU, RSS \d+ MiB/);
  });

  test('a monitored run has the generator cost beside the workload, and sub-millisecond latencies', async () => {
    const run = await runK6(
      'ws-echo.js',
      { ...suite.servers.env(), PROFILE: 'smoke', DURATION: '4s', VUS: '2' },
      { args: ['-q'] },
    );
    assert.equal(run.code, 0, run.stderr.slice(-2000));
    const m = run.summary.metrics;
    for (const name of [
      'rtb_generator_cpu_percent',
      'rtb_generator_cpu_time',
      'rtb_generator_rss_bytes',
      'rtb_generator_gc_pause',
      'rtb_generator_cores',
      'rtb_generator_loop_lag',
    ]) {
      assert.ok(
        m[name],
        `${name} is in the run: ${Object.keys(m)
          .filter((k) => k.startsWith('rtb_gen'))
          .join(', ')}`,
      );
    }
    assert.ok(m.rtb_generator_cpu_time.count > 0, 'k6 used CPU');
    assert.ok(m.rtb_generator_rss_bytes.value > 10 * 2 ** 20, `RSS ${m.rtb_generator_rss_bytes.value}`);
    assert.ok(m.rtb_generator_cores.value >= 1);
    assert.ok(m.rtb_generator_loop_lag.count >= 2, 'the echo sockets ran the lag probe every monitor interval');
    // Whole-millisecond clocks give integer percentiles; a round trip of ~0.3 ms cannot.
    const lat = m.rtb_latency;
    assert.ok(lat.count > 100);
    assert.ok(
      [lat.med, lat['p(95)'], lat.min].some((v: number) => v % 1 !== 0),
      `latency quantised: ${JSON.stringify(lat)}`,
    );
    assert.ok(lat.min < 1, `the fastest loopback round trip is under 1 ms: ${lat.min}`);
  });

  test('gRPC latencies taken in the script are no longer whole milliseconds', async () => {
    const run = await runK6(
      'grpc-unary.js',
      { ...suite.servers.env(), ITERATIONS: '1', COUNT: '200' },
      { args: ['-q'] },
    );
    assert.equal(run.code, 0, run.stderr.slice(-2000));
    const lat = run.summary.metrics.rtb_latency;
    assert.equal(lat.count, 200);
    assert.ok(
      [lat.med, lat['p(90)'], lat.min].every((v: number) => v % 1 !== 0),
      `latency quantised: ${JSON.stringify(lat)}`,
    );
  });
});

describe('k6 ÷ native side by side (tools/bench.mjs, as npm start runs it)', { timeout: 300_000 }, () => {
  const suite = suiteServers({ servers: [] }, { k6: true });

  test('image and echo runs get a k6 and a native figure each, per protocol and client', async () => {
    const rows = await k6VsNativeFor(
      ['ws-image.js', 'grpc-image.js', 'ws-echo.js', 'grpc-echo.js', 'sse-feed.js'],
      suite.servers,
      { images: 3, repeat: 1, windowMs: 300 },
    );
    const keys = rows.map((r) => `${r.workload} ${r.mode} ${r.protocol} ${r.client}`);
    assert.deepEqual(keys, [
      'image sequential WebSocket k6',
      'image sequential gRPC k6/net/grpc',
      'image sequential gRPC k6/x/measure raw',
      'image concurrent WebSocket k6',
      'image concurrent gRPC k6/net/grpc',
      'image concurrent gRPC k6/x/measure raw',
      'echo sequential WebSocket k6',
      'echo sequential gRPC k6/net/grpc',
    ]);
    for (const r of rows) {
      assert.ok(r.k6 > 0 && r.native > 0 && Math.abs(r.ratio - r.k6 / r.native) < 1e-9, JSON.stringify(r));
    }
    const text = formatK6VsNative(rows);
    assert.match(text, /k6 ÷ native/);
    assert.match(
      text,
      /image\s+sequential\s+gRPC\s+k6\/x\/measure raw\s+[\d.]+ ms\/batch\s+[\d.]+ ms\/batch\s+\d+\.\d\d/,
    );
    assert.deepEqual(
      await k6VsNativeFor(['sse-feed.js'], suite.servers),
      [],
      'no native counterpart: nothing measured',
    );
  });
});
