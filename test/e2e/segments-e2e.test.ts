// A split run adds up to the whole: the same scenario as 2 k6 processes with the segment flags
// k6-operator gives its runners (started paused, resumed together) against one process, with the
// real k6 and the real servers. Fixed iterations: the same iterations and delivered messages
// exactly, a merged p95 inside the runners' span and close to the single process's; a threshold
// that only the sum crosses fails the merged run. Ramping: the runners' summed VU curve follows
// the single process's within one VU at every sample.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, suiteServers } from '../helpers.ts';
import { runSegmented } from '../../tools/segments.mjs';
import { mergeDirs, readPoints, sumStepCurves } from '../../tools/merge.mjs';

const suite = suiteServers({ servers: [] }, { k6: true });

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `rtbench-${name}-`));

describe('execution segments, locally', () => {
  test('fixed iterations: 2 segments and 1 process do the same work; a threshold only the sum crosses fails the merged run', async () => {
    // 8 iterations of 5 images = 40 messages in all, 20 per runner: the threshold count<30 holds
    // for each runner's slice and fails for the whole, split or not.
    const config = join(tmp('config'), 'rtbench.config.json');
    writeFileSync(
      config,
      JSON.stringify({ scenarios: { 'ws-image': { thresholds: { rtb_messages: ['count<30'] } } } }),
    );
    const env = {
      ...suite.servers.env(),
      MODE: 'sequential',
      IMAGES: '5',
      ITERATIONS: '8',
      VUS: '2',
      MONITOR: 'off',
      RTBENCH_CONFIG: config,
    };
    const single = await runSegmented('ws-image.js', env, { segments: 1, dir: tmp('single') });
    const split = await runSegmented('ws-image.js', env, { segments: 2, dir: tmp('split') });

    for (const run of [single, split]) assert.ok(run.summary, `merged summary:\n${run.stderr.slice(-2000)}`);
    const s = single.summary.metrics;
    const m = split.summary.metrics;
    assert.equal(s.iterations.count, 8);
    assert.equal(m.iterations.count, s.iterations.count, 'iterations');
    assert.equal(s.rtb_messages.count, 40);
    assert.equal(m.rtb_messages.count, s.rtb_messages.count, 'rtb_messages');
    assert.equal(m.rtb_latency.count, s.rtb_latency.count);
    assert.deepEqual({ passes: m.checks.passes, fails: m.checks.fails }, { passes: s.checks.passes, fails: 0 });

    // Each runner did its half, and alone stayed under the threshold (k6 exit 0)…
    assert.equal(split.runners.length, 2);
    for (const r of split.runners) {
      assert.equal(r.code, 0, `runner ${r.dir} exited ${r.code}:\n${r.stderr.slice(-1500)}`);
      assert.equal(r.summary.metrics.rtb_messages.count, 20);
      assert.equal(r.summary.metrics.rtb_messages.thresholds['count<30'], false);
    }
    assert.ok(split.resumeSpreadMs < 1000, `runners resumed ${split.resumeSpreadMs} ms apart`);
    // …while the merged run crosses it, exactly as the single process does, and passes the rest.
    const verdict = (run: typeof split) =>
      Object.fromEntries(run.thresholds.map((t) => [`${t.metric}: ${t.expr}`, t.ok]));
    assert.deepEqual(verdict(split), {
      'rtb_messages: count<30': false,
      'rtb_latency: p(95)<5000': true,
      'rtb_batch_time: p(95)<30000': true,
      'checks: rate==1': true,
    });
    assert.deepEqual(verdict(single), verdict(split));
    assert.equal(split.thresholds.find((t) => t.expr === 'count<30')?.actual, 40);
    assert.equal(split.code, 99, 'the merged run fails on the threshold');
    assert.equal(single.runners[0]!.code, 99, 'k6 itself fails the single process on it');

    // Merging one runner reproduces k6's own summary: same percentile rule, same counts.
    const own = single.runners[0]!.summary.metrics;
    for (const stat of ['avg', 'min', 'med', 'p(90)', 'p(95)', 'max', 'count']) {
      assert.ok(
        Math.abs(s.rtb_latency[stat] - own.rtb_latency[stat]) <= 1e-9 * Math.max(1, own.rtb_latency[stat]),
        `rtb_latency ${stat}: merged ${s.rtb_latency[stat]} vs k6 ${own.rtb_latency[stat]}`,
      );
    }
    assert.ok(
      Math.abs(s.rtb_messages.rate - own.rtb_messages.rate) / own.rtb_messages.rate < 1e-6,
      'counter rate recomputed as k6 does',
    );

    // The merged p95 comes from the pooled samples: inside the runners' own p95s, near the single process's.
    const p95s = split.runners.map((r) => r.summary.metrics.rtb_latency['p(95)'] as number);
    const p95 = m.rtb_latency['p(95)'] as number;
    assert.ok(
      p95 >= Math.min(...p95s) - 1e-9 && p95 <= Math.max(...p95s) + 1e-9,
      `merged p95 ${p95} within runners' [${p95s.join(', ')}]`,
    );
    // The same merge from the runner folders (what `npm run merge` does) gives the same result.
    const again = await mergeDirs(split.runners.map((r) => r.dir));
    assert.equal(again.summary.metrics.rtb_latency['p(95)'], p95);
    assert.equal(again.failed, true);
  });

  test('echo round trips: the merged p95 of thousands of samples matches one process within noise', async (t) => {
    // 2 clients, one per runner when split, each echoing for 3 s on its own connection. The single
    // process and the split pair run at the same time, so whatever else loads the machine loads both.
    const env = { ...suite.servers.env(), MODE: 'sequential', WINDOW: '3s', ITERATIONS: '2', VUS: '2', MONITOR: 'off' };
    const [single, split] = await Promise.all([
      runSegmented('ws-echo.js', env, { segments: 1, dir: tmp('echo-single') }),
      runSegmented('ws-echo.js', env, { segments: 2, dir: tmp('echo-split') }),
    ]);
    assert.equal(single.code, 0, single.stderr.slice(-2000));
    assert.equal(split.code, 0, split.stderr.slice(-2000));
    const m = split.summary.metrics.rtb_latency;
    const s = single.summary.metrics.rtb_latency;
    assert.equal(
      m.count,
      split.runners.reduce((n, r) => n + r.summary.metrics.rtb_latency.count, 0),
      "every runner's samples pooled",
    );
    assert.ok(m.count > 200 && s.count > 200, `round trips: split ${m.count}, single ${s.count}`);
    const p95s = split.runners.map((r) => r.summary.metrics.rtb_latency['p(95)'] as number);
    assert.ok(
      m['p(95)'] >= Math.min(...p95s) - 1e-9 && m['p(95)'] <= Math.max(...p95s) + 1e-9,
      `merged p95 ${m['p(95)']} within runners' [${p95s.join(', ')}]`,
    );
    // Noise on a shared 2-core machine is large, hence a factor of 4; this catches a merge that
    // took the wrong samples or the wrong statistic (k6's own rule is checked exactly above).
    const ratio = m['p(95)'] / s['p(95)'];
    t.diagnostic(
      `rtb_latency p95: runners ${p95s.map((p) => p.toFixed(3)).join(' / ')} ms, merged ${m['p(95)'].toFixed(3)} ms (${m.count} samples), single process ${s['p(95)'].toFixed(3)} ms (${s.count})`,
    );
    assert.ok(
      ratio > 1 / 4 && ratio < 4,
      `merged p95 ${m['p(95)'].toFixed(2)} ms vs single-process ${s['p(95)'].toFixed(2)} ms`,
    );
  });

  test('a runner that cannot start fails the split run with its own error, and none is left waiting', async () => {
    const run = await runSegmented(
      'ws-image.js',
      { ...suite.servers.env(), PROFILE: 'bogus' },
      { segments: 2, dir: tmp('bad') },
    );
    assert.notEqual(run.code, 0);
    assert.equal(run.summary, null);
    assert.equal(run.runners.length, 2);
    assert.match(run.stderr, /PROFILE/);
    assert.match(run.stderr, /segments: runner \d failed \(exit \d+\)/);
  });

  test("ramping VUs: the runners' summed VU curve follows one process within one VU at every sample", async (t) => {
    // A slow ramp (one VU every 2 s) to 4 VUs and back; each k6 samples `vus` once a second.
    const env = { ...suite.servers.env(), MODE: 'sequential', IMAGES: '1', STAGES: '8s:4,2s:4,8s:0', MONITOR: 'off' };
    const single = await runSegmented('ws-image.js', env, { segments: 1, dir: tmp('ramp-single') });
    const split = await runSegmented('ws-image.js', env, { segments: 2, dir: tmp('ramp-split') });
    assert.equal(single.code, 0, single.stderr.slice(-2000));
    assert.equal(split.code, 0, split.stderr.slice(-2000));

    const vus = async (run: typeof split) =>
      Promise.all(run.runners.map(async (r) => (await readPoints(join(r.dir, 'points.json.gz'))).get('vus')!.samples));
    const one = (await vus(single))[0]!.filter((x) => x.t >= single.startedAt);
    const perRunner = await vus(split);
    assert.ok(
      perRunner.every((s) => s.some((x) => x.v > 0)),
      'both runners ran VUs',
    );
    const sum = sumStepCurves(perRunner).filter(([t]) => t >= split.startedAt);
    // The sum at a time since start: the latest summed sample at or before it.
    const sumAt = (since: number) => [...sum].reverse().find(([t]) => t - split.startedAt <= since)?.[1] ?? 0;
    assert.ok(one.length >= 15, `${one.length} vus samples in the single run`);
    assert.equal(Math.max(...one.map((x) => x.v)), 4);
    assert.equal(Math.max(...sum.map(([, v]) => v)), 4);
    const diffs = one.map((x) => ({ at: x.t - single.startedAt, single: x.v, split: sumAt(x.t - single.startedAt) }));
    const worst = Math.max(...diffs.map((d) => Math.abs(d.single - d.split)));
    t.diagnostic(`vus single/split at each second: ${diffs.map((d) => `${d.single}/${d.split}`).join(' ')}`);
    assert.ok(worst <= 1, `summed curve off by ${worst} VUs: ${JSON.stringify(diffs)}`);
  });
});

test('npm start -- --segments 2: each run as 2 runners, one merged row', () => {
  const results = tmp('start-segments');
  const res = spawnSync(
    process.execPath,
    [
      join(root, 'tools', 'start.mjs'),
      '--only',
      'ws-image sequential',
      '--repeats',
      '1',
      '--segments',
      '2',
      '-e',
      'ITERATIONS=4',
      '-e',
      'VUS=2',
      '-e',
      'IMAGES=3',
      '--results',
      results,
    ],
    { encoding: 'utf8', timeout: 300_000 },
  );
  assert.equal(res.status, 0, res.stdout + res.stderr);
  const runs = JSON.parse(readFileSync(join(results, 'comparison.json'), 'utf8')).runs;
  assert.deepEqual(
    runs.map((r: { entry: string; msgs: number }) => [r.entry, r.msgs]),
    [['ws-image sequential', 12]],
    'one row: 4 iterations × 3 images from 2 runners',
  );
  const dir = join(results, 'ws-image-sequential', 'run-1');
  const runners = [1, 2].map(
    (i) => JSON.parse(readFileSync(join(dir, `runner-${i}`, 'summary.json'), 'utf8')).metrics.rtb_messages.count,
  );
  assert.deepEqual(runners, [6, 6]);
  assert.equal(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')).metrics.rtb_messages.count, 12);
  const bad = spawnSync(process.execPath, [join(root, 'tools', 'start.mjs'), '--segments', 'two'], {
    encoding: 'utf8',
  });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--segments 'two': expected a whole number/);
});
