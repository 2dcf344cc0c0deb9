// `npm start` end to end at a short profile: builds, starts the servers, runs the comparison
// with the real k6, prints the table and writes the results, exiting 0 when all checks pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { k6Bin, root } from '../helpers.ts';

test('npm start prints the side-by-side table and writes each run\'s summary', async () => {
  await k6Bin();
  const results = mkdtempSync(join(tmpdir(), 'rtbench-results-'));
  const res = spawnSync(process.execPath, [join(root, 'tools', 'start.mjs'), '--only', 'image', '--duration', '2s', '-e', 'IMAGES=2', '--results', results], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(res.status, 0, res.stdout + res.stderr);
  const runs = ['ws-image sequential', 'grpc-image sequential', 'ws-image concurrent', 'grpc-image concurrent'];
  for (const run of runs) {
    assert.match(res.stdout, new RegExp(`^${run}\\s+\\d+\\s+[\\d.]+`, 'm'), `table row for ${run}`);
    assert.ok(existsSync(join(results, run.replace(' ', '-'), 'summary.json')), `summary for ${run}`);
  }
  assert.match(res.stdout, /\[1\/4\] ws-image sequential/);
  const comparison = JSON.parse(readFileSync(join(results, 'comparison.json'), 'utf8')) as { rows: Array<{ run: string; msgs: number; failedChecks: number }> };
  assert.deepEqual(comparison.rows.map((r) => r.run), runs);
  for (const row of comparison.rows) {
    assert.ok(row.msgs > 0);
    assert.equal(row.failedChecks, 0);
  }
});

test('npm start rejects a bad option by name', () => {
  const res = spawnSync(process.execPath, [join(root, 'tools', 'start.mjs'), '--profiel', 'smoke'], { encoding: 'utf8' });
  assert.equal(res.status, 2);
  assert.match(res.stderr, /unknown option '--profiel'/);
  const only = spawnSync(process.execPath, [join(root, 'tools', 'start.mjs'), '--only', 'carrier-pigeon'], { encoding: 'utf8' });
  assert.equal(only.status, 2);
  assert.match(only.stderr, /--only carrier-pigeon matches no run/);
});
