// End to end: the real k6 runs dist/ws-image.js and dist/grpc-image.js against the real servers,
// in both modes, and every image comes back acknowledged with a matching digest. Load settings
// (STAGES, the config file, thresholds) really change what k6 does.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suiteServers, checksOf, runK6, startServers, type K6Run } from '../helpers.ts';

const suite = suiteServers({ servers: [] }, { k6: true });

function assertAllImagesAcknowledged(run: K6Run, imagesPerIteration: number) {
  assert.equal(run.code, 0, `k6 exited ${run.code}:\n${run.stderr.slice(-2000)}`);
  const m = run.summary.metrics;
  const iterations = m.iterations.count as number;
  assert.ok(iterations >= 1, 'at least one iteration ran');
  const checks = checksOf(run.summary);
  assert.deepEqual(checks['ack digest matches'], { passes: iterations * imagesPerIteration, fails: 0 });
  assert.deepEqual(checks['all images acknowledged'], { passes: iterations, fails: 0 });
  assert.equal(m.rtb_messages.count, iterations * imagesPerIteration);
  assert.equal(m.rtb_payload_bytes.count, iterations * imagesPerIteration * 545139);
  assert.equal(m.rtb_latency.count, iterations * imagesPerIteration);
  assert.ok(m.rtb_latency['p(95)'] > 0);
  assert.equal(m.rtb_batch_time.count, iterations);
  assert.equal(m.rtb_connect_time.count, iterations);
  assert.equal(m.checks.fails, 0);
}

describe('image scenarios with the real k6', () => {
  for (const script of ['ws-image.js', 'grpc-image.js']) {
    for (const mode of ['sequential', 'concurrent']) {
      test(`${script} ${mode}: every image acknowledged with a matching digest`, async () => {
        const run = await runK6(script, {
          ...suite.servers.env(),
          MODE: mode,
          IMAGES: '4',
          PROFILE: 'smoke',
          DURATION: '2s',
        });
        assertAllImagesAcknowledged(run, 4);
      });
    }
  }

  test('the image workload at 50 images: one batch per protocol, concurrent', async () => {
    for (const script of ['ws-image.js', 'grpc-image.js']) {
      const run = await runK6(script, { ...suite.servers.env(), MODE: 'concurrent', IMAGES: '50', ITERATIONS: '1' });
      assertAllImagesAcknowledged(run, 50);
      assert.equal(run.summary.metrics.iterations.count, 1);
    }
  });

  test('a server that rejects the images fails the checks and the run', async () => {
    const small = await startServers(['--max-message-bytes', '100000']);
    try {
      const run = await runK6('ws-image.js', { ...small.env(), IMAGES: '2', ITERATIONS: '1' });
      assert.notEqual(run.code, 0, 'the checks threshold makes k6 exit non-zero');
      assert.equal(checksOf(run.summary)['all images acknowledged']?.fails, 1);
      assert.ok(run.summary.metrics.rtb_errors.count >= 1);
    } finally {
      await small.stop();
    }
  });
});

/** The `vus` samples of a run with --out json, in time order. */
function vusCurve(run: K6Run): number[] {
  return readFileSync(join(run.dir, 'points.json'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"metric":"vus"') && l.includes('"type":"Point"'))
    .map((l) => (JSON.parse(l) as { data: { value: number } }).data.value);
}

describe('load settings change what k6 does', () => {
  // MONITOR=off: the server-cost monitor's own VU would show in the `vus` curves asserted here.
  const light = () => ({ ...suite.servers.env(), IMAGES: '1', MONITOR: 'off' });

  test('STAGES overrides the profile: the VU curve follows it', async () => {
    const base = await runK6(
      'ws-image.js',
      { ...light(), PROFILE: 'smoke', DURATION: '2s' },
      { args: ['--out', 'json=points.json'] },
    );
    const staged = await runK6(
      'ws-image.js',
      { ...light(), PROFILE: 'smoke', STAGES: '1s:4,2s:4,1s:0' },
      { args: ['--out', 'json=points.json'] },
    );
    for (const r of [base, staged]) assert.equal(r.code, 0, r.stderr.slice(-1500));
    const baseVus = vusCurve(base);
    const stagedVus = vusCurve(staged);
    assert.equal(Math.max(...baseVus), 1, `smoke runs 1 VU: ${baseVus}`);
    assert.equal(Math.max(...stagedVus), 4, `STAGES peaks at 4 VUs: ${stagedVus}`);
    assert.ok(stagedVus.includes(4) && stagedVus.some((v) => v < 4), `the curve ramps: ${stagedVus}`);
  });

  test("the config file sets a scenario's stages and thresholds", async () => {
    const ok = await runK6(
      'ws-image.js',
      { ...light(), RTBENCH_CONFIG: 'config.json' },
      {
        args: ['--out', 'json=points.json'],
        prepare: (dir) =>
          writeFileSync(
            join(dir, 'config.json'),
            JSON.stringify({ scenarios: { 'ws-image': { stages: '1s:3,1s:3' }, 'grpc-image': { vus: 9 } } }),
          ),
      },
    );
    assert.equal(ok.code, 0, ok.stderr.slice(-1500));
    assert.equal(Math.max(...vusCurve(ok)), 3);

    const breach = await runK6(
      'ws-image.js',
      { ...light(), ITERATIONS: '1', RTBENCH_CONFIG: 'config.json' },
      {
        prepare: (dir) =>
          writeFileSync(
            join(dir, 'config.json'),
            JSON.stringify({ scenarios: { 'ws-image': { thresholds: { rtb_latency: ['p(95)<0.001'] } } } }),
          ),
      },
    );
    assert.equal(breach.code, 99, 'a crossed threshold makes k6 exit 99');
    assert.match(breach.stderr + breach.stdout, /thresholds on metrics 'rtb_latency' have been crossed/);
  });

  test('the open model runs at the requested arrival rate', async () => {
    const run = await runK6('ws-image.js', { ...light(), MODEL: 'open', RATE: '4', DURATION: '2s', PROFILE: 'smoke' });
    assert.equal(run.code, 0, run.stderr.slice(-1500));
    const iterations = run.summary.metrics.iterations.count;
    assert.ok(iterations >= 6 && iterations <= 9, `4 iterations/s for 2 s, got ${iterations}`);
  });

  const badInit: Array<[string, Record<string, string>, RegExp]> = [
    ['a bad stage', { STAGES: '1s:3,1x:2' }, /STAGES: stage '1x:2': '1x' is not a duration/],
    ['an unknown profile', { PROFILE: 'stres' }, /PROFILE: unknown value 'stres'/],
    ['a bad VUS', { VUS: 'many' }, /VUS: 'many' is not a whole number/],
    ['a bad mode', { MODE: 'parallel' }, /MODE: unknown value 'parallel' \(one of: sequential, concurrent\)/],
    ['an unknown config key', { RTBENCH_CONFIG: 'config.json' }, /scenarios\.ws-image\.vu: unknown setting 'vu'/],
  ];
  for (const [what, env, message] of badInit) {
    test(`${what} stops k6 at init with an error naming it`, async () => {
      const run = await runK6(
        'ws-image.js',
        { ...light(), ...env },
        {
          prepare: (dir) =>
            writeFileSync(join(dir, 'config.json'), JSON.stringify({ scenarios: { 'ws-image': { vu: 3 } } })),
        },
      );
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, message);
      assert.equal(run.summary, null, 'no test ran');
    });
  }
});
