// The capacity search's pure parts: the least-squares fit, the cost per connection from a run's
// samples, the verdict on a level and its reason, and the command line's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { costPerConnection, leastSquares, parseOptions, verdict } from '../../tools/capacity-lib.mjs';

test('leastSquares fits a line and refuses what cannot be fitted', () => {
  const fit = leastSquares([0, 1, 2, 3], [10, 12, 14, 16])!;
  assert.equal(fit.slope, 2);
  assert.equal(fit.intercept, 10);
  assert.equal(fit.r2, 1);
  assert.equal(leastSquares([1, 1, 1], [1, 2, 3]), null, 'no spread in x');
  assert.equal(leastSquares([1, 2], [1, 2]), null, 'too few points');
});

test('cost per connection is the slope over the ramp, not RSS divided by connections', () => {
  // 50 MB baseline, 20 KB per connection while ramping to 1000, then a hold at 1000
  const samples = [0, 0, 250, 500, 750, 1000, 1000, 1000].map((conns, i) => ({
    t: i * 1000,
    conns,
    rss: 50e6 + conns * 20_480 + (i % 2) * 1000,
    heap: 10e6 + conns * 8192,
    cpuMs: i * 100 + (conns === 1000 ? i * 200 : 0),
    k6Rss: 40e6 + conns * 30_000,
    k6CpuMs: null,
  }));
  const c = costPerConnection(samples);
  assert.equal(c.peak, 1000);
  assert.ok(Math.abs(c.serverRss!.perConn - 20_480) < 50, `server ${c.serverRss!.perConn}`);
  assert.ok(Math.abs(c.serverHeap!.perConn - 8192) < 1);
  assert.ok(Math.abs(c.k6Rss!.perConn - 30_000) < 1);
  assert.equal(c.k6Cpu, null, 'no k6 CPU samples, no figure');
  assert.ok(c.serverCpu!.perConn > 0);
});

const summary = (m: Record<string, Record<string, number>>, fails = 0) => ({
  metrics: m,
  root_group: { checks: [{ name: 'x', passes: 1, fails }], groups: [] },
});
const good = {
  rtb_connections: { count: 1000 },
  rtb_latency: { 'p(99)': 100 },
  rtb_errors: { count: 0 },
  rtb_lost: { count: 0 },
};
const judge = (m: Record<string, Record<string, number>>, extra: Partial<Parameters<typeof verdict>[0]> = {}) =>
  verdict({
    level: 1000,
    sloMs: 250,
    maxErrorRate: 0.001,
    summary: summary(m),
    exitCode: 0,
    output: '',
    fileLimit: 20000,
    ...extra,
  });

test('a level holds only within the SLO, the error budget, with nothing lost', () => {
  assert.deepEqual(judge(good), { held: true, reason: '', limit: null });
  assert.match(
    judge({ ...good, rtb_latency: { 'p(99)': 400 } }).reason,
    /delivery p99 400 ms while holding > SLO 250 ms/,
  );
  const rampOnly = { ...good, rtb_latency: { 'p(99)': 900 }, 'rtb_latency{phase:hold}': { 'p(99)': 120 } };
  assert.equal(judge(rampOnly).held, true, 'the SLO is judged on the hold window');
  assert.equal(judge({ ...good, rtb_errors: { count: 1 } }).held, true, '0.1 % of 1000 is one error');
  assert.match(judge({ ...good, rtb_errors: { count: 2 } }).reason, /errors 0.20 % of connections \(2\) > 0.10 %/);
  assert.match(judge({ ...good, rtb_lost: { count: 3 } }).reason, /3 messages lost/);
  assert.match(judge({ ...good, rtb_connections: { count: 900 } }).reason, /only 900 of 1000 connections/);
  assert.match(
    verdict({
      level: 1000,
      sloMs: 250,
      maxErrorRate: 0.001,
      summary: summary(good, 2),
      exitCode: 99,
      output: '',
      fileLimit: null,
    }).reason,
    /2 failed checks/,
  );
  assert.match(judge(good, { summary: null, exitCode: 137 }).reason, /without a summary \(exit 137\)/);
});

test('a resource limit in the output is named as what stopped the level', () => {
  const v = judge({ ...good, rtb_errors: { count: 50 } }, { output: 'dial tcp: socket: too many open files' });
  assert.equal(v.held, false);
  assert.equal(v.limit, 'open-file limit (20000)');
  assert.match(v.reason, /open-file limit \(20000\) reached/);
});

test('npm run capacity names the bad option value', () => {
  assert.throws(() => parseOptions(['--transports', 'ws,carrier-pigeon']), /unknown transport 'carrier-pigeon'/);
  assert.throws(() => parseOptions(['--levels', '1000,500']), /must rise/);
  assert.throws(() => parseOptions(['--levels', '1k']), /--levels: '1k' is not a whole number/);
  assert.throws(() => parseOptions(['--slo', 'soon']), /--slo: 'soon' is not a duration/);
  assert.throws(() => parseOptions(['--max-errors', 'lots']), /--max-errors: 'lots'/);
  assert.throws(
    () => parseOptions(['--storm', '--transports', 'ws,grpc']),
    /--storm: grpc streams have no resume point/,
  );
  assert.deepEqual(
    parseOptions(['--storm']).transports,
    ['ws', 'sse', 'socketio'],
    'a storm runs where clients resume',
  );
  const o = parseOptions(['--levels', '10,20', '--slo', '1s']);
  assert.deepEqual(o.levels, [10, 20]);
  assert.equal(o.sloMs, 1000);
  assert.deepEqual(o.transports, ['ws', 'sse', 'socketio', 'grpc', 'grpc-ws']);
});
