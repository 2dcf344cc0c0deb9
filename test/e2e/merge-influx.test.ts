// The merge from InfluxDB, as k6-operator runners leave their results: 2 runners (execution
// segments, instance_id tags) stream to a real influxd under one testid; reading them back and
// merging gives what the merge of their raw-sample files gives, thresholds judged from the
// scenario itself (k6 inspect). The dashboards' VU query sums the runners instead of showing one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, suiteServers } from '../helpers.ts';
import { runSegmented } from '../../tools/segments.mjs';
import { mergeRunners } from '../../tools/merge.mjs';
import { readInfluxRunners, scenarioThresholds } from '../../tools/merge-influx.mjs';
import { vusAcrossRunners } from '../../dashboards/src/queries.ts';

const suite = suiteServers({ servers: [] }, { influx: true, k6: true });

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `rtbench-${name}-`));
const out = (testid: string) => ['--out', `influxdb=${suite.influx.k6Out}`, '--tag', `testid=${testid}`];

describe('merging runners from InfluxDB', () => {
  test('2 runners under one testid: the same counts, p95 and threshold verdict as the merge of their files', async () => {
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
    const split = await runSegmented('ws-image.js', env, {
      segments: 2,
      dir: tmp('influx-split'),
      args: out('merge-1'),
    });
    assert.ok(split.summary, split.stderr.slice(-2000));

    const runners = await readInfluxRunners({ url: suite.influx.url, db: suite.influx.db, testid: 'merge-1' });
    assert.equal(runners.length, 2, 'one runner per instance_id');
    const thresholds = await scenarioThresholds('ws-image', env);
    assert.deepEqual(thresholds.rtb_messages, ['count<30']);
    const merged = mergeRunners(runners, { thresholds });
    const m = merged.summary.metrics;
    const f = split.summary.metrics;
    assert.equal(m.iterations.count, 8);
    assert.equal(m.rtb_messages.count, 40);
    assert.equal(m.rtb_messages.count, f.rtb_messages.count);
    assert.equal(m.rtb_latency.count, f.rtb_latency.count);
    for (const stat of ['med', 'p(95)', 'max'])
      assert.ok(
        Math.abs(m.rtb_latency[stat] - f.rtb_latency[stat]) < 1e-6,
        `rtb_latency ${stat}: influx ${m.rtb_latency[stat]} vs files ${f.rtb_latency[stat]}`,
      );
    const verdict = (ts: typeof merged.thresholds) =>
      Object.fromEntries(ts.map((t) => [`${t.metric}: ${t.expr}`, t.ok]));
    assert.deepEqual(verdict(merged.thresholds), verdict(split.thresholds));
    assert.equal(verdict(merged.thresholds)['rtb_messages: count<30'], false);
    assert.equal(merged.failed, true);
    // Each runner alone stays under it.
    for (const r of runners)
      assert.equal(mergeRunners([r], { thresholds }).thresholds.find((t) => t.expr === 'count<30')?.ok, true);

    // The same from the command line, as the README shows it: exit 99 (k6's threshold code).
    const file = join(tmp('merge-cli'), 'merged.json');
    const settings = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    const cli = spawnSync(
      process.execPath,
      [
        join(root, 'tools', 'merge.mjs'),
        '--influx',
        suite.influx.k6Out,
        '--testid',
        'merge-1',
        '--scenario',
        'ws-image',
        ...settings,
        '--out',
        file,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(cli.status, 99, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /^2 runners/m);
    assert.match(cli.stdout, /^✗ rtb_messages: count<30 \(merged: 40\)$/m);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).metrics.rtb_messages.count, 40);
  });

  test("the dashboards' VU query sums the runners of a split run", async () => {
    // 2 clients for 4 s, one per runner.
    const env = { ...suite.servers.env(), MODE: 'sequential', WINDOW: '4s', ITERATIONS: '2', VUS: '2', MONITOR: 'off' };
    const split = await runSegmented('ws-echo.js', env, { segments: 2, dir: tmp('influx-vus'), args: out('merge-2') });
    assert.equal(split.code, 0, split.stderr.slice(-2000));
    const where = `"testid" = 'merge-2' AND time > now() - 10m`;
    const q = vusAcrossRunners(where)
      .replace(/\$timeFilter/g, 'time > now() - 10m')
      .replace(/\$__interval/g, '2s');
    const [summed] = await suite.influx.query(q);
    const values = (summed?.series?.[0]?.values ?? []).map((v) => Number(v[1]));
    assert.equal(Math.max(...values), 2, `summed VUs per 2 s: ${values.join(' ')}`);
    const [one] = await suite.influx.query(
      `SELECT max("value") FROM "vus" WHERE ${where} GROUP BY time(2s) fill(none)`,
    );
    assert.equal(
      Math.max(...(one?.series?.[0]?.values ?? []).map((v) => Number(v[1]))),
      1,
      'the largest runner alone has 1',
    );
  });
});
