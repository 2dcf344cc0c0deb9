// Open-loop latency on paced workloads: a server that stalls for 1 s in the middle of a paced
// stream (the test-only RTBENCH_TEST_STALL_MS knob in servers/grpc-orders.ts) stamps its sends
// after the stall, so latency from the send stamp stays small; latency from when each message was
// due by the schedule (rtb_latency_intended) shows the stall. Feeds record it too, and the
// comparison table shows it for paced rows and "closed" for the rest.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runK6, suiteServers } from '../helpers.ts';
import { comparisonRow, formatTable } from '../../tools/report.mjs';

const STALL_MS = 1000;

describe('open-loop latency', { timeout: 300_000 }, () => {
  const suite = suiteServers(
    { stalling: { args: ['--only', 'grpc'], env: { RTBENCH_TEST_STALL_MS: String(STALL_MS) } }, normal: [] },
    { k6: true },
  );

  test('a 1 s server stall mid-stream shows from the schedule, not from the send stamps', async () => {
    const run = await runK6(
      'grpc-server-stream.js',
      { ...suite.stalling.env(), ITERATIONS: '1', COUNT: '200', INTERVAL: '5ms', MONITOR: 'off' },
      { args: ['-q'] },
    );
    assert.equal(run.code, 0, run.stderr.slice(-2000));
    const m = run.summary.metrics;
    assert.equal(m.rtb_latency.count, 200);
    assert.equal(m.rtb_latency_intended.count, 200);
    assert.ok(
      m.rtb_latency_intended['p(99)'] >= STALL_MS,
      `intended p99 ${m.rtb_latency_intended['p(99)']} ms < the ${STALL_MS} ms stall`,
    );
    assert.ok(
      m.rtb_latency['p(99)'] < STALL_MS / 2,
      `send-stamped p99 ${m.rtb_latency['p(99)']} ms should not show the stall`,
    );
    assert.ok(m.rtb_late_send.max >= STALL_MS, `late send max ${m.rtb_late_send.max} ms`);
    const table = formatTable([comparisonRow('grpc-server-stream', run.summary, { exitCode: 0, failedChecks: 0 })]);
    assert.match(table, /sched p99 ms/);
    assert.match(table.split('\n')[2]!, /\s1\d{3}\s/, 'the row shows a schedule p99 over a second');
  });

  test('without a stall the schedule adds little, and an unpaced run reads "closed"', async () => {
    const paced = await runK6(
      'grpc-server-stream.js',
      { ...suite.normal.env(), ITERATIONS: '1', COUNT: '100', INTERVAL: '10ms', MONITOR: 'off' },
      { args: ['-q'] },
    );
    assert.equal(paced.code, 0, paced.stderr.slice(-2000));
    assert.ok(
      paced.summary.metrics.rtb_latency_intended.med < 500,
      JSON.stringify(paced.summary.metrics.rtb_latency_intended),
    );
    const feed = await runK6(
      'sse-feed.js',
      { ...suite.normal.env(), ITERATIONS: '1', WINDOW: '3s', MSG_RATE: '20', MONITOR: 'off' },
      { args: ['-q'] },
    );
    assert.equal(feed.code, 0, feed.stderr.slice(-2000));
    const f = feed.summary.metrics;
    assert.ok(f.rtb_latency_intended.count >= 40, 'every feed message has a due time');
    assert.ok(
      f.rtb_latency_intended.med >= f.rtb_latency.min && f.rtb_latency_intended.med < 100,
      JSON.stringify(f.rtb_latency_intended),
    );
    const closed = await runK6(
      'grpc-unary.js',
      { ...suite.normal.env(), ITERATIONS: '1', COUNT: '20', MONITOR: 'off' },
      { args: ['-q'] },
    );
    assert.equal(closed.code, 0, closed.stderr.slice(-2000));
    const row = comparisonRow('grpc-unary', closed.summary, { exitCode: 0, failedChecks: 0 });
    assert.equal(row.intendedP99, null);
    assert.match(formatTable([row]).split('\n')[2]!, /\sclosed\s/);
  });
});
