// `npm start` under conditions: --network and --proxy run the comparison through toxiproxy and
// Caddy, name each row by them and record them in comparison.json; bad values stop it by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { k6Bin, root } from '../helpers.ts';

const start = join(root, 'tools', 'start.mjs');

test('npm start --network lan --proxy none,caddy: one row per proxy, the proxy CPU beside it', async () => {
  await k6Bin();
  const results = mkdtempSync(join(tmpdir(), 'rtbench-results-'));
  const res = spawnSync(
    process.execPath,
    [
      start,
      '--network',
      'lan',
      '--proxy',
      'none,caddy',
      '--only',
      'ws-echo',
      '--duration',
      '2s',
      '-e',
      'WINDOW=1s',
      '--results',
      results,
    ],
    {
      encoding: 'utf8',
      timeout: 600_000,
    },
  );
  assert.equal(res.status, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /▶ network lan: one data centre/);
  assert.match(res.stdout, /caddy CPU \d+ ms/);
  const comparison = JSON.parse(readFileSync(join(results, 'comparison.json'), 'utf8')) as {
    network: string[];
    proxies: string[];
    rows: Array<{ run: string; msgs: number; failedChecks: number; proxyCpuMs?: number }>;
  };
  assert.deepEqual(comparison.network, ['lan']);
  assert.deepEqual(comparison.proxies, ['none', 'caddy']);
  assert.deepEqual(
    comparison.rows.map((r) => r.run),
    ['ws-echo @lan direct', 'ws-echo @lan via caddy'],
  );
  for (const row of comparison.rows) {
    assert.ok(row.msgs > 0);
    assert.equal(row.failedChecks, 0);
  }
  assert.equal(typeof comparison.rows[1]!.proxyCpuMs, 'number');
});

test('npm start names a bad shape, proxy or fault schedule', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [start, ...args], { encoding: 'utf8', timeout: 30_000 });
  const shape = run('--network', 'lan,wam');
  assert.equal(shape.status, 2);
  assert.match(shape.stderr, /unknown network shape 'wam'/);
  const proxy = run('--proxy', 'haproxy');
  assert.equal(proxy.status, 2);
  assert.match(proxy.stderr, /--proxy: unknown proxy 'haproxy' \(known: none, caddy\)/);
  const fault = run('-e', 'FAULT=outage@5s');
  assert.equal(fault.status, 2);
  assert.match(fault.stderr, /an outage needs its length/);
  const direct = run('-e', 'FAULT=reset@5s');
  assert.equal(direct.status, 2);
  assert.match(direct.stderr, /-e FAULT needs a network shape with a proxy/);
});
