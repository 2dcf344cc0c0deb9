// End to end: the real k6 runs dist/ws-echo.js and dist/socketio-echo.js (the echo workload) against the
// real servers. Every echo is verified, round trips are counted per client window, connect time
// is recorded; several VUs give min/mean/max round trips per client; a server that refuses the
// payload fails the run.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suiteServers, checksOf, runK6, startServers, type K6Run } from '../helpers.ts';

const SCRIPTS = ['ws-echo.js', 'socketio-echo.js'];

const suite = suiteServers({ servers: [] }, { k6: true });

/** Every echo verified, `clients` windows completed, and the metrics agree with each other. */
function assertEchoRun(
  run: K6Run,
  { clients, payloadBytes, windowMs }: { clients: number; payloadBytes: number; windowMs: number },
) {
  assert.equal(run.code, 0, `k6 exited ${run.code}:\n${run.stderr.slice(-2000)}`);
  const m = run.summary.metrics;
  const checks = checksOf(run.summary);
  const trips = m.rtb_messages.count as number;
  assert.ok(trips > clients, `round trips happened: ${trips}`);
  assert.deepEqual(checks['echo equals what was sent'], { passes: trips, fails: 0 });
  assert.deepEqual(checks['echo answers a message we sent'], { passes: trips, fails: 0 });
  assert.deepEqual(checks['echo window completed'], { passes: clients, fails: 0 });
  assert.equal(m.checks.fails, 0);
  assert.equal(m.rtb_latency.count, trips, 'one latency per round trip');
  assert.ok(m.rtb_latency.min > 0 && m.rtb_latency['p(95)'] < 1000);
  assert.equal(m.rtb_payload_bytes.count, trips * payloadBytes);
  assert.equal(m.rtb_round_trips.count, clients, 'one round-trip count per client window');
  assert.ok(
    Math.abs(m.rtb_round_trips.avg * clients - trips) < 1e-6 * trips + 1,
    'the windows add up to every round trip',
  );
  assert.equal(m.rtb_connect_time.count, clients);
  assert.ok(m.rtb_connect_time.min > 0);
  assert.equal(m.rtb_batch_time.count, clients);
  assert.ok(
    m.rtb_batch_time.min >= windowMs * 0.95,
    `each window lasted about ${windowMs} ms: ${m.rtb_batch_time.min}`,
  );
  assert.equal(m.rtb_errors?.count ?? 0, 0);
}

/** The `reason` tags of a run's rtb_errors samples (k6 --out json=points.json). */
function errorReasons(run: K6Run): string[] {
  return readFileSync(join(run.dir, 'points.json'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"metric":"rtb_errors"') && l.includes('"type":"Point"'))
    .map((l) => String((JSON.parse(l) as { data: { tags: { reason?: string } } }).data.tags.reason));
}

describe('echo scenarios with the real k6', () => {
  for (const script of SCRIPTS) {
    test(`${script}: the echo workload's text 'hi' on one connection, every echo verified`, async () => {
      const run = await runK6(script, { ...suite.servers.env(), ITERATIONS: '1', WINDOW: '2s' });
      assertEchoRun(run, { clients: 1, payloadBytes: 2, windowMs: 2000 });
    });

    test(`${script}: binary payload, pipelined`, async () => {
      const run = await runK6(script, {
        ...suite.servers.env(),
        ITERATIONS: '1',
        WINDOW: '1s',
        PAYLOAD_BYTES: '3000',
        MODE: 'pipelined',
        DEPTH: '4',
      });
      assertEchoRun(run, { clients: 1, payloadBytes: 3000, windowMs: 1000 });
    });
  }

  test('several clients at once: min / mean / max round trips per client in the summary', async () => {
    for (const script of SCRIPTS) {
      const run = await runK6(script, { ...suite.servers.env(), VUS: '4', ITERATIONS: '4', WINDOW: '2s' });
      assertEchoRun(run, { clients: 4, payloadBytes: 2, windowMs: 2000 });
      const t = run.summary.metrics.rtb_round_trips;
      assert.ok(t.min > 0 && t.min <= t.avg && t.avg <= t.max, `${script}: min ${t.min} ≤ avg ${t.avg} ≤ max ${t.max}`);
      assert.match(
        run.stdout,
        /rtb_round_trips\.*: avg=\d+(\.\d+)?\s+min=\d+\s.*max=\d+\s+count=4/,
        'the end-of-test summary shows them',
      );
    }
  });

  test('a server that refuses the payload fails the window, the checks and the run', async () => {
    const small = await startServers(['--max-message-bytes', '2048']);
    try {
      for (const script of SCRIPTS) {
        const run = await runK6(
          script,
          { ...small.env(), ITERATIONS: '1', WINDOW: '1s', PAYLOAD_BYTES: '4096' },
          { args: ['--out', 'json=points.json'] },
        );
        assert.notEqual(run.code, 0, `${script}: the checks threshold makes k6 exit non-zero`);
        assert.deepEqual(checksOf(run.summary)['echo window completed'], { passes: 0, fails: 1 });
        assert.equal(run.summary.metrics.rtb_messages?.count ?? 0, 0);
        assert.ok(run.summary.metrics.rtb_errors.count >= 1);
        assert.ok(
          errorReasons(run).some((r) => r.includes('1009')),
          `the close code is the reason: ${errorReasons(run)}`,
        );
      }
    } finally {
      await small.stop();
    }
  });
});
