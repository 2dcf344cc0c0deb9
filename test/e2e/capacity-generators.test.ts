// End to end: `npm run capacity -- --generators 2` holds one level with two real k6 processes,
// each taking its execution segment of the connections, against real servers: each process opens
// half, the merged summary counts all of them, and the level is judged on the merged figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { k6Bin, root, runCommand } from '../helpers.ts';

test('capacity --generators 2: two k6 processes hold one level between them, every connection once', async (t) => {
  await k6Bin();
  const results = mkdtempSync(join(tmpdir(), 'rtbench-capacity-'));
  t.after(() => rmSync(results, { recursive: true, force: true }));
  const args = ['--transports', 'ws', '--levels', '300', '--per-vu', '50', '--generators', '2', '--hold', '3s'];
  // the SLO is not what this asserts: a shared test machine may be slow
  const run = await runCommand(
    process.execPath,
    ['tools/capacity.mjs', ...args, '--slo', '10s', '--results', results],
    {
      cwd: root,
      timeoutMs: 180_000,
    },
  );
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /ws: 300 connections, .*, 2 k6 processes/);
  const { runs } = JSON.parse(readFileSync(join(results, 'capacity.json'), 'utf8'));
  assert.equal(runs.length, 1);
  assert.equal(runs[0].generators, 2);
  assert.equal(runs[0].held, true, runs[0].reason);
  assert.equal(runs[0].lost, 0);
  assert.equal(runs[0].errors, 0);
  // each process opened its half (k6 splits the 6 VUs 3 and 3), and the merged summary has all
  const opened = [1, 2].map(
    (i) =>
      JSON.parse(readFileSync(join(results, 'ws-300', `k6-${i}`, 'summary.json'), 'utf8')).metrics.rtb_connections
        .count,
  );
  assert.deepEqual(opened, [150, 150]);
  const merged = JSON.parse(readFileSync(join(results, 'ws-300', 'summary.json'), 'utf8'));
  assert.equal(merged.metrics.rtb_connections.count, 300);
  // and the server held all 300 at once
  assert.ok(runs[0].cost.peak >= 300, `the server held at most ${runs[0].cost.peak}`);
});
