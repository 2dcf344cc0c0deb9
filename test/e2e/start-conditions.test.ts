// `npm start` under conditions: --network and --proxy run the comparison through toxiproxy and
// Caddy and record them beside every run in comparison.json (with the proxy's CPU per message in
// the table); a list of shapes runs the entries under each and prints the table across them;
// bad values stop it by name.
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
  // the proxy's own CPU per message, beside the servers', in the printed table
  const head = res.stdout.split('\n').findIndex((l) => /^entry\s+runs\s+p50 ms/.test(l));
  assert.ok(head >= 0, res.stdout);
  const cols = res.stdout.split('\n')[head]!.split(/\s{2,}/);
  const row = res.stdout
    .split('\n')
    .slice(head + 2)
    .find((l) => l.startsWith('ws-echo'))!
    .split(/\s{2,}/);
  assert.deepEqual(cols.slice(cols.indexOf('srv CPU ms/1k'), cols.indexOf('srv CPU ms/1k') + 2), [
    'srv CPU ms/1k',
    'proxy CPU ms/1k',
  ]);
  const proxyCpu = Number(row[cols.indexOf('proxy CPU ms/1k')]);
  assert.ok(proxyCpu > 0, `proxy CPU ms/1k: ${row[cols.indexOf('proxy CPU ms/1k')]}`);
  rmSync(results, { recursive: true, force: true });
});

test('npm start --network loopback,lan: the same entry under each shape, servers started once, a table across them', async () => {
  await k6Bin();
  const results = mkdtempSync(join(tmpdir(), 'rtbench-results-'));
  const args = ['--network', 'loopback,lan', '--only', 'ws-echo', '--profile', 'smoke', '--repeats', '1'];
  const res = spawnSync(
    process.execPath,
    [start, ...args, '--duration', '2s', '--no-native', '-e', 'WINDOW=1s', '--results', results],
    { encoding: 'utf8', timeout: 300_000 },
  );
  assert.equal(res.status, 0, res.stdout + res.stderr);
  const out = res.stdout;
  assert.equal(out.match(/▶ starting servers/g)?.length, 1, 'servers start once');
  assert.match(out, /▶ 2 runs: 1 entries × 1 repeats × 2 sets of conditions \(loopback, lan\)/);
  assert.ok(out.indexOf('▶ under loopback') < out.indexOf('▶ under lan: through network lan'), out);
  // the progress counts every shape's runs
  assert.match(out, /▶ \[1\/2\] ws-echo, repeat 1\/1, loopback · about \d+s left \(estimated\)/);
  assert.match(out, /▶ \[2\/2\] ws-echo, repeat 1\/1, lan · about \d+s left\n/);
  assert.match(out, /── under loopback ──[\s\S]*── under lan ──/);
  // the table across the shapes: WebSocket's p50 under loopback and under lan, with the change
  const table = /Under network shapes: .*\n\necho round trips.*:\n(.*)\n(.*)\n(.*)\n(.*)\n/.exec(out);
  assert.ok(table, out);
  assert.match(table[1]!, /protocol\s+figure\s+loopback\s+lan$/);
  const p50 = /^\s+WebSocket\s+p50 ms\s+([\d.,]+)\s+([\d.,]+) \(×([\d.]+)\)$/.exec(table[2]!);
  assert.ok(p50, table[2]);
  const [loop, lan, ratio] = p50.slice(1).map((v) => Number(v!.replace(/,/g, '')));
  // lan adds 1 ms of round trip to every echo: its p50 is at least that, loopback's well below it
  assert.ok(lan! >= 1 && loop! < lan!, `p50 loopback ${loop} ms, lan ${lan} ms`);
  assert.ok(Math.abs(ratio! - lan! / loop!) / ratio! < 0.1, `×${ratio} vs ${lan}/${loop}`);
  assert.match(table[3]!, /^\s+p95 ms\s+[\d.]+\s+[\d.]+ \(×/);
  assert.match(table[4]!, /^\s+msgs\/s\s+[\d,]+\s+[\d,]+ \(×/);

  const comparison = JSON.parse(readFileSync(join(results, 'comparison.json'), 'utf8')) as {
    conditions: Record<string, string | null>;
    conditionSets: Array<Record<string, string | null>>;
    runs: Array<{ entry: string; msgs: number; p50: number; failedChecks: number; dir: string; conditions: object }>;
  };
  assert.deepEqual(comparison.conditions, { network: 'loopback,lan', proxy: null });
  assert.deepEqual(comparison.conditionSets, [
    { network: null, proxy: null },
    { network: 'lan', proxy: null },
  ]);
  assert.deepEqual(
    comparison.runs.map((r) => [r.entry, r.conditions, r.dir, r.failedChecks]),
    [
      ['ws-echo', { network: null, proxy: null }, join('loopback', 'ws-echo', 'run-1'), 0],
      ['ws-echo', { network: 'lan', proxy: null }, join('lan', 'ws-echo', 'run-1'), 0],
    ],
  );
  // the printed figures are the runs' own
  assert.ok(Math.abs(comparison.runs[1]!.p50 - lan!) < 0.01 + lan! * 0.01);
  const html = readFileSync(join(results, 'report.html'), 'utf8');
  assert.match(html, /<h2 id="shapes">Under network shapes<\/h2>/);
  assert.ok(html.includes('<canvas id="shape-latency-echo"'));
  assert.match(readFileSync(join(results, 'comparison.txt'), 'utf8'), /Under network shapes/);
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
  assert.match(proxy.stderr, /--proxy: unknown proxy 'haproxy' \(known: caddy, nginx/);
  // in a list, a bad shape stops everything before anything starts, by name
  const list = run('--network', 'loopback,lan,mobile-5g');
  assert.equal(list.status, 2);
  assert.match(list.stderr, /unknown network shape 'mobile-5g'/);
  assert.doesNotMatch(list.stdout, /building|starting/);
  // nginx is an optional extra: without it, --proxy nginx says what to install (nothing is started)
  const noNginx = spawnSync(process.execPath, [start, '--proxy', 'nginx'], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, NGINX_BIN: join(tmpdir(), 'no-such-nginx') },
  });
  assert.equal(noNginx.status, 2);
  assert.match(noNginx.stderr, /--proxy nginx: NGINX_BIN=\S+no-such-nginx: no such file/);
  const fault = run('--network', 'lan', '-e', 'FAULT=outage@5s');
  assert.equal(fault.status, 2);
  assert.match(fault.stderr, /an outage needs its length/);
  const direct = run('-e', 'FAULT=reset@5s');
  assert.equal(direct.status, 2);
  assert.match(direct.stderr, /-e FAULT needs a network shape with a proxy/);
});
