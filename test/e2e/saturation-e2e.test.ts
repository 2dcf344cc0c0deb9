// The generator-saturation verdict on real runs: pipelined echo with many VUs drives k6 past
// what a 2-core machine gives it, and its row is flagged generator-bound; a light feed run is
// not. (tools/lib/saturation.mjs; the rtb_generator_* samples come from the monitor scenario.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { runK6, suiteServers } from '../helpers.ts';
import { saturation } from '../../tools/lib/saturation.mjs';
import { comparisonRow, formatTable } from '../../tools/report.mjs';

describe('generator saturation verdict', { timeout: 300_000 }, () => {
  const suite = suiteServers({ servers: [] }, { k6: true });

  test('pipelined echo with 4 VUs per core is flagged generator-bound, and the table says so', async () => {
    const vus = String(4 * cpus().length);
    const run = await runK6(
      'ws-echo.js',
      {
        ...suite.servers.env(),
        PROFILE: 'smoke',
        DURATION: '8s',
        VUS: vus,
        MODE: 'pipelined',
        DEPTH: '10',
        WINDOW: '3s',
      },
      { args: ['-q'] },
    );
    assert.equal(run.code, 0, run.stderr.slice(-2000));
    const v = saturation(run.summary);
    assert.ok(v, 'the run has generator samples');
    assert.equal(v.bound, true, `not flagged: ${JSON.stringify(v)}`);
    assert.ok(v.reasons.length > 0);
    const table = formatTable([
      comparisonRow('ws-echo pipelined', run.summary, { exitCode: run.code, failedChecks: 0 }),
    ]);
    assert.match(table, /ws-echo pipelined \[GEN\]/);
    assert.match(table, /generator-bound: k6 itself was the limit/);
  });

  test('a light run (one feed subscriber, 10 msg/s) is not flagged', async () => {
    const run = await runK6(
      'sse-feed.js',
      { ...suite.servers.env(), PROFILE: 'smoke', DURATION: '6s', VUS: '1', WINDOW: '4s' },
      { args: ['-q'] },
    );
    assert.equal(run.code, 0, run.stderr.slice(-2000));
    const v = saturation(run.summary);
    assert.ok(v, 'the run has generator samples');
    assert.equal(v.bound, false, `flagged: ${JSON.stringify(v)}`);
    assert.ok(v.cpuPercent < 50, `k6 CPU ${v.cpuPercent}%`);
    assert.doesNotMatch(
      formatTable([comparisonRow('sse-feed', run.summary, { exitCode: run.code, failedChecks: 0 })]),
      /\[GEN\]/,
    );
  });
});
