// `npm start` under conditions: --network and --proxy run the comparison through toxiproxy and
// Caddy and record them beside every run in comparison.json; bad values stop it by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { k6Bin, root } from '../helpers.ts';

const start = join(root, 'tools', 'start.mjs');

test('npm start --network lan --proxy caddy: every run goes through both and says so', async () => {
  await k6Bin();
  const results = mkdtempSync(join(tmpdir(), 'rtbench-results-'));
  const args = ['--network', 'lan', '--proxy', 'caddy', '--only', 'ws-echo', '--repeats', '1', '--duration', '2s'];
  const res = spawnSync(process.execPath, [start, ...args, '-e', 'WINDOW=1s', '--results', results], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  assert.equal(res.status, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /through network lan, caddy http:\/\/127\.0\.0\.1:\d+/);
  const comparison = JSON.parse(readFileSync(join(results, 'comparison.json'), 'utf8')) as {
    conditions: Record<string, string | null>;
    runs: Array<{
      entry: string;
      msgs: number;
      failedChecks: number;
      proxyCpuMs?: number;
      conditions: Record<string, string | null>;
    }>;
  };
  assert.deepEqual(comparison.conditions, { network: 'lan', proxy: 'caddy' });
  assert.equal(comparison.runs.length, 1);
  const [run] = comparison.runs;
  assert.deepEqual(run!.conditions, { network: 'lan', proxy: 'caddy' });
  assert.ok(run!.msgs > 0);
  assert.equal(run!.failedChecks, 0);
  assert.equal(typeof run!.proxyCpuMs, 'number');
  rmSync(results, { recursive: true, force: true });
});

test('npm start names a bad shape, proxy or fault schedule', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [start, ...args], { encoding: 'utf8', timeout: 30_000 });
  const shape = run('--network', 'wam');
  assert.equal(shape.status, 2);
  assert.match(shape.stderr, /unknown network shape 'wam'/);
  const proxy = run('--proxy', 'haproxy');
  assert.equal(proxy.status, 2);
  assert.match(proxy.stderr, /--proxy: unknown proxy 'haproxy' \(known: caddy\)/);
  const fault = run('--network', 'lan', '-e', 'FAULT=outage@5s');
  assert.equal(fault.status, 2);
  assert.match(fault.stderr, /an outage needs its length/);
  const direct = run('-e', 'FAULT=reset@5s');
  assert.equal(direct.status, 2);
  assert.match(direct.stderr, /-e FAULT needs a network shape with a proxy/);
});
