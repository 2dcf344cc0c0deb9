// End to end: the real k6 runs grpc-over-ws against the real servers: protobuf
// encoded in the script, tunnelled through the bridge to the gRPC server. Every answer passes
// the same checks as the direct scenarios (grpc-unary, grpc-bidi), the counts add up, the shared
// metrics carry the grpc-ws numbers; a message over the bridge's limit fails the call with its
// status and the bridge keeps serving.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suiteServers, allChecksPassed, checksOf, runK6, type K6Run, type Servers } from '../helpers.ts';

const SMALL_MAX = 4096;
const COUNT = 30;
const PAYLOAD_BYTES = 300;

const suite = suiteServers(
  { servers: ['--only', 'grpc,grpc-ws'], small: ['--only', 'grpc,grpc-ws', '--max-message-bytes', String(SMALL_MAX)] },
  { k6: true },
);

const env = (s: Servers, extra: Record<string, string> = {}) => ({
  ...s.env(),
  ITERATIONS: '1',
  COUNT: String(COUNT),
  PAYLOAD_BYTES: String(PAYLOAD_BYTES),
  ...extra,
});

/** COUNT verified messages with a latency each, their padding, wire bytes, no errors. */
function assertCounts(run: K6Run, connections: number) {
  const m = run.summary.metrics;
  assert.equal(m.rtb_messages.count, COUNT, 'every message delivered and verified');
  assert.equal(m.rtb_payload_bytes.count, COUNT * PAYLOAD_BYTES);
  assert.equal(m.rtb_latency.count, COUNT, 'one latency sample per message');
  assert.ok(m.rtb_latency.min > 0, 'latencies are positive');
  assert.ok(m.rtb_latency.med < m.rtb_latency.max || m.rtb_latency.med === m.rtb_latency.max);
  assert.equal(m.rtb_connect_time.count, connections);
  assert.equal(m.rtb_batch_time.count, 1);
  for (const dir of ['sent', 'received']) {
    const bytes = m[`data_${dir}{scenario:grpc-over-ws}`]?.count;
    assert.ok(
      bytes > COUNT * PAYLOAD_BYTES,
      `data_${dir} of the workload is reported (${bytes}) and covers the payloads`,
    );
  }
  assert.equal(m.rtb_errors, undefined, 'no errors');
}

describe('grpc-over-ws with the real k6', () => {
  test('CALL=unary: every CreateOrder through the bridge answered with its own order, one connection per call', async () => {
    const run = await runK6('grpc-over-ws.js', env(suite.servers, { CALL: 'unary' }));
    const checks = allChecksPassed(run, [
      'one order per call',
      'order answers its request',
      'order total and status are right',
      'every message arrived',
    ]);
    assert.equal(checks['order answers its request']!.passes, COUNT);
    assertCounts(run, COUNT);
    const stats = (await (await fetch(`${suite.servers.httpUrl}/stats`)).json()) as {
      protocols: Record<string, { connectionsTotal: number; messagesIn: number }>;
    };
    assert.ok(stats.protocols['grpc-ws']!.connectionsTotal >= COUNT, 'the bridge counted its connections as grpc-ws');
  });

  for (const mode of ['sequential', 'pipelined']) {
    test(`CALL=bidi MODE=${mode}: one ProcessOrders stream, every result in order with its payload`, async () => {
      const run = await runK6('grpc-over-ws.js', env(suite.servers, { CALL: 'bidi', MODE: mode, DEPTH: '8' }));
      const checks = allChecksPassed(run, [
        'results arrive in order, none missing',
        'result echoes its action',
        'every message arrived',
      ]);
      assert.equal(checks['results arrive in order, none missing']!.passes, COUNT);
      assertCounts(run, 1);
    });
  }

  test('a request over the maximum message size fails its call with ResourceExhausted; the bridge keeps serving', async () => {
    const bad = await runK6(
      'grpc-over-ws.js',
      env(suite.small, { CALL: 'unary', COUNT: '3', PAYLOAD_BYTES: String(SMALL_MAX + 100) }),
      { args: ['--out', 'json=points.json'] },
    );
    assert.equal(bad.code, 99, 'thresholds fail');
    const checks = checksOf(bad.summary);
    assert.deepEqual(checks['every message arrived'], { passes: 0, fails: 1 });
    assert.equal(bad.summary.metrics.rtb_messages, undefined, 'nothing was delivered');
    const reasons = readFileSync(join(bad.dir, 'points.json'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((p) => p.type === 'Point' && p.metric === 'rtb_errors')
      .map((p) => p.data.tags.reason)
      .sort();
    assert.ok(
      reasons.includes('grpc ResourceExhausted'),
      `the call failed with its status (rtb_errors reasons: ${reasons.join(', ')})`,
    );
    assert.ok(reasons.includes('ws close 1009'), 'its connection was closed 1009');
    assert.equal(reasons.filter((r) => r.startsWith('grpc ')).length, 1, 'the first failed call ended the iteration');

    const good = await runK6('grpc-over-ws.js', env(suite.small, { CALL: 'unary', COUNT: '3', PAYLOAD_BYTES: '100' }));
    allChecksPassed(good, ['order answers its request', 'every message arrived']);
    assert.equal(good.summary.metrics.rtb_messages.count, 3);
  });
});
