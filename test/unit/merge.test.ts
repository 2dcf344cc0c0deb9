// Merging split runs (tools/merge.mjs) on made-up runners: k6's threshold grammar, k6's
// percentile rule, summed gauge curves, and thresholds judged on the merged samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeRunners, parseMetricKey, parseThreshold, percentile, sumStepCurves } from '../../tools/merge.mjs';
import { segmentArgs } from '../../tools/segments.mjs';

type Sample = { t: number; v: number; tags: Record<string, string> };
const samples = (values: number[], tags: Record<string, string> = {}, t0 = 0): Sample[] =>
  values.map((v, i) => ({ t: t0 + i * 1000, v, tags }));

/** A runner as readRunner returns it: a summary export listing the thresholds, and raw samples. */
function runner(
  durationMs: number,
  metrics: Record<string, { type: string; samples: Sample[] }>,
  thresholds: Record<string, string[]>,
) {
  const summary = {
    root_group: { name: '', path: '', id: 'x', checks: {}, groups: {} },
    metrics: {} as Record<string, any>,
  };
  for (const name of Object.keys(metrics)) summary.metrics[name] = {};
  for (const [key, exprs] of Object.entries(thresholds))
    summary.metrics[key] = { thresholds: Object.fromEntries(exprs.map((e) => [e, false])) };
  return {
    summary,
    durationMs,
    metrics: new Map(Object.entries(metrics).map(([k, m]) => [k, { ...m, contains: 'default' }])),
  };
}

test('segment flags are the ones k6-operator gives its runners', () => {
  assert.deepEqual(segmentArgs(1, 3), ['--execution-segment=0:1/3', '--execution-segment-sequence=0,1/3,2/3,1']);
  assert.deepEqual(segmentArgs(2, 3), ['--execution-segment=1/3:2/3', '--execution-segment-sequence=0,1/3,2/3,1']);
  assert.deepEqual(segmentArgs(4, 4), ['--execution-segment=3/4:1', '--execution-segment-sequence=0,1/4,2/4,3/4,1']);
  assert.throws(() => segmentArgs(3, 2), /runner 3 is outside 1\.\.2/);
  assert.throws(() => segmentArgs(1, 0), /'0' is not a whole number/);
});

test("threshold expressions: k6's grammar, errors that name the expression", () => {
  assert.deepEqual(parseThreshold('p(95)<500'), { agg: 'p', q: 0.95, op: '<', value: 500 });
  assert.deepEqual(parseThreshold(' p( 99.9 ) >= 1e3 '), { agg: 'p', q: 99.9 / 100, op: '>=', value: 1000 });
  assert.deepEqual(parseThreshold('count==0'), { agg: 'count', op: '==', value: 0 });
  assert.deepEqual(parseThreshold('rate > 0.95'), { agg: 'rate', op: '>', value: 0.95 });
  assert.deepEqual(parseThreshold('avg!=-2.5'), { agg: 'avg', op: '!=', value: -2.5 });
  assert.throws(() => parseThreshold('p95<500'), /threshold 'p95<500': expected <aggregation> <operator> <number>/);
  assert.throws(() => parseThreshold('p(101)<5'), /percentile 101 is outside 0\.\.100/);
  assert.throws(() => parseThreshold('avg<fast'), /'avg<fast'/);
});

test("percentile: k6's linear interpolation between closest ranks", () => {
  const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(percentile(v, 0.5), 5.5);
  assert.ok(Math.abs(percentile(v, 0.95) - 9.55) < 1e-12);
  assert.equal(percentile(v, 1), 10);
  assert.equal(percentile([7], 0.9), 7);
  assert.equal(percentile([], 0.9), 0);
});

test('submetric names split into metric and tag filter', () => {
  assert.deepEqual(parseMetricKey('rtb_latency{protocol:ws, payload:"hi"}'), {
    name: 'rtb_latency',
    tags: { protocol: 'ws', payload: 'hi' },
  });
  assert.deepEqual(parseMetricKey('checks'), { name: 'checks', tags: {} });
  assert.throws(() => parseMetricKey('x{protocol}'), /'protocol' is not tag:value/);
});

test('gauges: step curves summed at every sample time of any runner', () => {
  const a = [
    { t: 0, v: 1, tags: {} },
    { t: 2000, v: 2, tags: {} },
  ];
  const b = [
    { t: 500, v: 1, tags: {} },
    { t: 1500, v: 0, tags: {} },
  ];
  assert.deepEqual(sumStepCurves([a, b]), [
    [0, 1],
    [500, 2],
    [1500, 1],
    [2000, 2],
  ]);
});

test('a count threshold that only the sum crosses fails the merged run; percentiles come from the pooled samples', () => {
  const thresholds = {
    rtb_messages: ['count<30'],
    rtb_latency: ['p(95)<100', 'med<=3', 'max<200'],
    'rtb_latency{protocol:ws}': ['count==10'],
    checks: ['rate==1'],
  };
  const one = runner(
    10_000,
    {
      rtb_messages: { type: 'counter', samples: samples(Array(20).fill(1)) },
      rtb_latency: {
        type: 'trend',
        samples: [...samples([1, 2, 3, 4, 5], { protocol: 'ws' }), ...samples([1, 1, 1, 1, 1], { protocol: 'sse' })],
      },
      checks: { type: 'rate', samples: samples([1, 1, 1]) },
    },
    thresholds,
  );
  const two = runner(
    8_000,
    {
      rtb_messages: { type: 'counter', samples: samples(Array(20).fill(1)) },
      rtb_latency: {
        type: 'trend',
        samples: [
          ...samples([100, 110, 120, 130, 140], { protocol: 'ws' }),
          ...samples([2, 2, 2, 2, 2], { protocol: 'sse' }),
        ],
      },
      checks: { type: 'rate', samples: samples([1, 0]) },
    },
    thresholds,
  );
  const merged = mergeRunners([one, two]);
  const m = merged.summary.metrics;
  assert.deepEqual(
    m.rtb_messages,
    { count: 40, rate: 4, thresholds: { 'count<30': true } },
    'summed, rate over the longest runner',
  );
  assert.deepEqual([m.checks.passes, m.checks.fails, m.checks.value], [4, 1, 0.8]);
  const pooled = [1, 2, 3, 4, 5, 1, 1, 1, 1, 1, 100, 110, 120, 130, 140, 2, 2, 2, 2, 2].sort((x, y) => x - y);
  assert.equal(m.rtb_latency['p(95)'], percentile(pooled, 0.95));
  assert.equal(m.rtb_latency.med, 2);
  assert.equal(m.rtb_latency.count, 20);
  assert.equal(m['rtb_latency{protocol:ws}'].count, 10);
  assert.equal(m['rtb_latency{protocol:ws}'].med, (5 + 100) / 2);
  const verdict = Object.fromEntries(merged.thresholds.map((t) => [`${t.metric}: ${t.expr}`, t.ok]));
  assert.deepEqual(verdict, {
    'rtb_messages: count<30': false,
    'rtb_latency: p(95)<100': false,
    'rtb_latency: med<=3': true,
    'rtb_latency: max<200': true,
    'rtb_latency{protocol:ws}: count==10': true,
    'checks: rate==1': false,
  });
  assert.equal(merged.failed, true);
  // Each runner alone: 20 messages, under the count threshold.
  assert.equal(mergeRunners([one]).thresholds.find((t) => t.expr === 'count<30')?.ok, true);
});

test('an aggregation the metric type lacks fails the threshold with a reason', () => {
  const r = runner(1000, { rtb_messages: { type: 'counter', samples: samples([1]) } }, { rtb_messages: ['p(95)<5'] });
  const [t] = mergeRunners([r]).thresholds;
  assert.equal(t?.ok, false);
  assert.match(t?.error ?? '', /a counter metric has no 'p\(N\)' \(it has count, rate\)/);
});
