// The capacity search's pure parts: the least-squares fit, the cost per connection from a run's
// samples, the verdict on a level and its reason, the verdict on a churn rate, the storm's timing,
// the reconnect backoff, and the command line's errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  StormWatch,
  bottleneck,
  errorReasons,
  generatorsFor,
  mergeSummaries,
  segmentArgs,
  churnVerdict,
  costPerConnection,
  leastSquares,
  parseOptions,
  verdict,
} from '../../tools/capacity-lib.mjs';
import { reconnectDelay } from '../../scripts/lib/transport/backoff.ts';

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
  assert.throws(() => parseOptions(['--generator-nice', '20']), /--generator-nice: '20'/);
  assert.equal(parseOptions(['--generator-nice', '10']).generatorNice, 10);
  assert.equal(parseOptions([]).generatorNice, 0);
  assert.deepEqual(
    parseOptions(['--storm']).transports,
    ['ws', 'sse', 'socketio', 'grpc', 'grpc-ws'],
    'every hold transport resumes after a storm',
  );
  const o = parseOptions(['--levels', '10,20', '--slo', '1s']);
  assert.deepEqual(o.levels, [10, 20]);
  assert.equal(o.sloMs, 1000);
  assert.deepEqual(o.transports, ['ws', 'sse', 'socketio', 'grpc', 'grpc-ws']);
});

// A churn run of 500 connections/s for 10 s that made every connection.
const churned = {
  rtb_connections: { count: 5000 },
  rtb_first_message_time: { count: 5000, med: 3, 'p(99)': 20 },
  rtb_connect_time: { count: 5000, med: 2, 'p(95)': 5, 'p(99)': 12 },
  rtb_errors: { count: 0 },
};
const judgeChurn = (
  m: Record<string, Record<string, number>>,
  extra: Partial<Parameters<typeof churnVerdict>[0]> = {},
  fails = 0,
) =>
  churnVerdict({
    rate: 500,
    windowMs: 10_000,
    sloMs: 250,
    maxErrorRate: 0.001,
    summary: summary(m, fails),
    exitCode: 0,
    output: '',
    fileLimit: 20000,
    baseline: 0,
    after: 0,
    timeWaitPeak: 3000,
    portRange: 28232,
    ...extra,
  });

test('a churn rate holds at 95 % of the rate, within the error budget and SLO, with no connection left behind', () => {
  const ok = judgeChurn(churned);
  assert.equal(ok.held, true, ok.reason);
  assert.equal(ok.achieved, 500);
  // 4,750 of 5,000 in 10 s is exactly 95 %: holds; one fewer does not
  const edge = { ...churned, rtb_first_message_time: { ...churned.rtb_first_message_time, count: 4750 } };
  assert.equal(judgeChurn({ ...edge, rtb_connections: { count: 4750 } }).held, true);
  const short = judgeChurn({
    ...churned,
    rtb_connections: { count: 4749 },
    rtb_first_message_time: { count: 4749, 'p(99)': 20 },
    dropped_iterations: { count: 251 },
  });
  assert.equal(short.held, false);
  assert.match(short.reason, /achieved 475 of 500 connections\/s \(< 95 %\); k6 had no free VU for 251 connections/);
  // failed connections: started but never given their first message (6 of 5,000 = 0.12 % > 0.1 %)
  const failed = judgeChurn({ ...churned, rtb_first_message_time: { count: 4994, 'p(99)': 20 } });
  assert.equal(failed.failed, 6);
  assert.match(failed.reason, /6 of 5000 connections failed \(0\.12 % > 0\.10 %\)/);
  assert.equal(judgeChurn({ ...churned, rtb_first_message_time: { count: 4995, 'p(99)': 20 } }).held, true, '0.1 %');
  assert.match(
    judgeChurn({ ...churned, rtb_connect_time: { 'p(99)': 300 } }).reason,
    /^connect p99 300 ms > SLO 250 ms$/,
  );
  assert.match(
    judgeChurn(churned, { baseline: 2, after: 40 }).reason,
    /the server still held 40 connections after the window \(2 before\): a leak/,
  );
  assert.equal(judgeChurn(churned, { baseline: 2, after: 1 }).held, true, 'fewer than before is no leak');
  assert.match(judgeChurn(churned, { after: null }).reason, /could not be asked/);
  assert.match(judgeChurn(churned, {}, 3).reason, /3 failed checks/);
  assert.match(judgeChurn({}, { summary: null, exitCode: 107 }).reason, /k6 ended without a summary \(exit 107\)/);
});

test('a churn rate names every condition that failed and the resource behind it', () => {
  const v = judgeChurn(
    { ...churned, rtb_first_message_time: { count: 3000, 'p(99)': 900 }, rtb_connect_time: { 'p(99)': 800 } },
    { output: 'dial tcp 127.0.0.1:8080: connect: cannot assign requested address' },
  );
  assert.equal(v.held, false);
  assert.equal(v.limit, 'local ports (EADDRNOTAVAIL)');
  assert.match(
    v.reason,
    /achieved 300 of 500.*; 2000 of 5000 connections failed.*; connect p99 800 ms.*; local ports \(EADDRNOTAVAIL\) reached$/,
  );
  // TIME_WAIT sockets near the port range are named even without an error line
  const tw = judgeChurn({ ...churned, rtb_connect_time: { 'p(99)': 800 } }, { timeWaitPeak: 27_000 });
  assert.equal(tw.limit, 'local ports: 27000 sockets in TIME_WAIT against 28232 ephemeral ports');
  assert.equal(judgeChurn(churned, { timeWaitPeak: 27_000 }).limit, null, 'a rate that held names no limit');
});

test('npm run capacity --churn reads its rates and refuses what belongs to the other modes', () => {
  const o = parseOptions(['--churn', '--rates', '100,200,500', '--window', '5s', '--vus', '50']);
  assert.equal(o.churn, true);
  assert.deepEqual(o.rates, [100, 200, 500]);
  assert.equal(o.windowMs, 5000);
  assert.equal(o.vus, 50);
  assert.deepEqual(o.transports, ['ws', 'sse', 'socketio', 'grpc', 'grpc-ws'], 'churn runs on every transport');
  assert.deepEqual(parseOptions(['--churn']).rates, [100, 200, 500, 1000, 2000]);
  assert.equal(parseOptions(['--churn']).vus, null);
  assert.throws(() => parseOptions(['--churn', '--rates', '500,200']), /--rates: '500,200' must rise/);
  assert.throws(() => parseOptions(['--churn', '--rates', 'fast']), /--rates: 'fast' is not a whole number/);
  assert.throws(() => parseOptions(['--churn', '--window', '500ms']), /--window: '500ms' is shorter than 1s/);
  assert.throws(() => parseOptions(['--churn', '--storm']), /--churn and --storm: choose one/);
  assert.throws(() => parseOptions(['--churn', '--levels', '1000']), /--levels: churn steps --rates/);
  assert.throws(() => parseOptions(['--rates', '100']), /--rates: only with --churn/);
  assert.throws(() => parseOptions(['--vus', '10']), /--vus: only with --churn/);
  assert.throws(() => parseOptions(['--churn', '--vus', '0']), /--vus: '0' is not a whole number from 1/);
});

test('the storm starts once the server holds every connection, then times how long until it holds them all again', () => {
  const w = new StormWatch(1000);
  // the ramp: no storm yet, however long it takes
  assert.equal(w.sample(1000, 400), false);
  assert.equal(w.sample(2000, 999), false);
  assert.equal(w.atMs, null);
  assert.equal(w.sample(2500, 1000), false, 'all open, but the last may not have subscribed yet');
  assert.equal(w.sample(2800, 990), false, 'one went: start counting again');
  assert.equal(w.sample(2900, 1000), false);
  assert.equal(w.sample(3000, 1000), true, 'all open on two polls in a row: cut them now');
  assert.equal(w.sample(3000, 1000), false, 'once');
  // the cut reaches /stats a poll later; all open again only after the count went down
  assert.equal(w.sample(4000, 1000), false);
  assert.equal(w.allBackMs, null, 'still open before the cut showed is not "back"');
  w.sample(5000, 120);
  w.sample(6000, 870);
  w.sample(7000, 1000);
  assert.equal(w.lowest, 120);
  assert.equal(w.allBackMs, 4000);
  w.sample(8000, 10);
  assert.equal(w.allBackMs, 4000, 'the first time back counts');
});

test('reconnect backoff has full jitter: anywhere from 0 to the doubling cap, so cut clients do not retry together', () => {
  const draws = Array.from({ length: 2000 }, () => reconnectDelay(0));
  assert.ok(
    draws.every((d) => d >= 0 && d < 100),
    'attempt 0: within 100 ms',
  );
  // spread over the window, not bunched at one point: every tenth of it is hit
  const tenths = new Set(draws.map((d) => Math.floor(d / 10)));
  assert.equal(tenths.size, 10, `tenths hit: ${[...tenths].sort().join(',')}`);
  assert.ok(
    Array.from({ length: 200 }, () => reconnectDelay(3)).every((d) => d < 800),
    'attempt 3: within 800 ms',
  );
  assert.ok(
    Array.from({ length: 200 }, () => reconnectDelay(3)).some((d) => d > 400),
    'attempt 3 reaches past 400 ms',
  );
  assert.ok(
    Array.from({ length: 200 }, () => reconnectDelay(20)).every((d) => d < 5000),
    'capped at 5 s',
  );
  assert.ok(
    Array.from({ length: 200 }, () => reconnectDelay(20, 100, 2000)).every((d) => d < 2000),
    'own cap',
  );
});

test('a level that failed on latency names the side that ran late: the machine, the generator or the server', () => {
  // 10 s holding 1,000 connections: k6 spends 900 ms of CPU a second, the server 200 ms
  const samples = (serverLag: number) =>
    Array.from({ length: 11 }, (_, i) => ({
      t: i * 1000,
      conns: 1000,
      rss: 1,
      heap: 1,
      cpuMs: i * 200,
      k6Rss: 1,
      k6CpuMs: i * 900,
      lagMs: i === 5 ? serverLag : 3,
    }));
  const summary = (loopLag: number, idle: number) => ({
    metrics: {
      rtb_generator_loop_lag: { max: loopLag },
      rtb_generator_timer_lag: { max: 20 },
      rtb_generator_host_idle_percent: { med: idle },
    },
  });
  const generator = bottleneck(samples(40), summary(250, 90), 300, 2);
  assert.equal(generator.side, 'generator');
  assert.match(generator.text, /k6 90 % of a core \(peak 90 %\), servers 20 % of a core/);
  assert.match(generator.text, /k6's event loops up to 250 ms late \(a Go timer 20 ms\), the server's 40 ms/);
  assert.equal(bottleneck(samples(300), summary(60, 90), 300, 2).side, 'server');
  assert.equal(bottleneck(samples(300), summary(250, 5), 300, 2).side, 'cpu');
  assert.match(bottleneck(samples(300), summary(250, 5), 300, 2).text, /^CPU: all 2 cores busy/);
  // late, but not by half the p99 on either side
  assert.equal(bottleneck(samples(40), summary(60, 90), 300, 2).side, 'unclear');
  // without the generator's metrics (an older k6), only the server's side can be named
  assert.equal(bottleneck(samples(300), {}, 300, 2).side, 'server');
  assert.equal(bottleneck(samples(10), null, 300, 2).side, 'unclear');
  // samples while connections were still opening do not count: only those at the peak
  const ramp = [{ t: 0, conns: 10, rss: 1, heap: 1, cpuMs: 0, k6Rss: 1, k6CpuMs: 0, lagMs: 900 }, ...samples(10)];
  assert.equal(bottleneck(ramp, summary(60, 90), 300, 2).side, 'unclear');
});

test('several k6 processes split a level by execution segment, and their summaries merge into an upper bound', () => {
  assert.deepEqual(segmentArgs(0, 1), []);
  assert.deepEqual(segmentArgs(0, 2), ['--execution-segment', '0:1/2', '--execution-segment-sequence', '0,1/2,1']);
  assert.deepEqual(segmentArgs(2, 3), ['--execution-segment', '2/3:1', '--execution-segment-sequence', '0,1/3,2/3,1']);
  assert.equal(generatorsFor(null, 1000, 500), 1);
  assert.equal(generatorsFor(null, 5000, 500), 1);
  assert.equal(generatorsFor(null, 19000, 500), 4);
  assert.equal(generatorsFor(2, 19000, 500), 2);
  // never a process without a VU
  assert.equal(generatorsFor(4, 1000, 500), 2);
  assert.equal(generatorsFor(null, 19000, 10000), 2);
  assert.equal(parseOptions([]).generators, null);
  assert.equal(parseOptions(['--generators', '3']).generators, 3);
  assert.throws(() => parseOptions(['--generators', 'many']), /--generators: 'many' is not a whole number/);

  const part = (p99: number, count: number, avg: number, lost: number, fails: number) => ({
    metrics: {
      rtb_latency: { 'p(99)': p99, med: p99 / 10, min: 1, max: p99 * 2, avg, count },
      rtb_lost: { count: lost, rate: lost / 10 },
      rtb_connections: { count: 5, rate: 1 },
      checks: { passes: 10, fails, value: 10 / (10 + fails) },
      rtb_generator_cores: { value: 2, min: 2, max: 2 },
    },
    root_group: { name: '', checks: [{ name: 'no messages lost', passes: 10, fails }], groups: [] },
  });
  const merged = mergeSummaries([part(100, 300, 10, 0, 0), part(200, 100, 30, 2, 1), null]);
  assert.deepEqual(merged.metrics.rtb_latency, { 'p(99)': 200, med: 20, min: 1, max: 400, avg: 15, count: 400 });
  assert.deepEqual(merged.metrics.rtb_lost, { count: 2, rate: 0.2 });
  assert.equal(merged.metrics.rtb_connections.count, 10);
  assert.deepEqual(merged.metrics.checks, { passes: 20, fails: 1, value: 20 / 21 });
  assert.equal(merged.metrics.rtb_generator_cores.max, 2);
  assert.deepEqual(merged.root_group.checks, [{ name: 'no messages lost', passes: 20, fails: 1 }]);
  // a merged summary is judged like one: the lost messages and the failed check count
  assert.match(
    verdict({ level: 10, sloMs: 250, maxErrorRate: 0.001, summary: merged, exitCode: 0, output: '', fileLimit: null })
      .reason,
    /^2 messages lost/,
  );
  assert.equal(mergeSummaries([null, null]), null);
  const one = part(1, 1, 1, 0, 0);
  assert.equal(mergeSummaries([one]), one);
});

test("a level's errors are traced to the reasons k6 logged, most often logged first, numbers folded", () => {
  const line = (reason: string) =>
    `time="2026-11-22T10:23:10Z" level=warning msg="rtb_errors: ${reason}" source=console`;
  const output = [
    line('connect failed: socketio ws close 1006: '),
    'some other line',
    line("socketio subscribe: unknown channel 'hold-r1-b64-10489'"),
    line("socketio subscribe: unknown channel 'hold-r1-b64-10475'"),
    line('ws error: read tcp 127.0.0.1:43120->127.0.0.1:8080: read: connection reset by peer'),
    line('ws error: read tcp 127.0.0.1:51234->127.0.0.1:8080: read: connection reset by peer'),
    line('ws error: read tcp 127.0.0.1:40002->127.0.0.1:8080: read: connection reset by peer'),
  ].join('\n');
  assert.deepEqual(errorReasons(output), [
    { reason: 'ws error: read tcp 127.0.0.1:N->127.0.0.1:N: read: connection reset by peer', logged: 3 },
    { reason: "socketio subscribe: unknown channel 'hold-r1-b64-N'", logged: 2 },
    { reason: 'connect failed: socketio ws close 1006: ', logged: 1 },
  ]);
  assert.deepEqual(errorReasons(output, 1).length, 1);
  assert.deepEqual(errorReasons('no errors logged'), []);
});
