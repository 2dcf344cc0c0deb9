// `npm run servers -- --network SHAPE`: the servers behind toxiproxy on the asked-for ports, a
// request through them paying the shape's round trip, everything stopped on SIGTERM; a bad shape
// stops at once with an error naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root, waitFor } from '../helpers.ts';
import { freePort } from '../../tools/network.mjs';

const servers = join(root, 'tools', 'servers.mjs');

test('--network wan: the usual address goes through toxiproxy (40 ms RTT) and SIGTERM stops it all', async () => {
  const [http, grpc, api] = [await freePort(), await freePort(), await freePort()];
  const proc = spawn(
    process.execPath,
    [
      servers,
      '--network',
      'wan',
      '--http-port',
      String(http),
      '--grpc-port',
      String(grpc),
      '--toxiproxy-port',
      String(api),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  try {
    await waitFor('ready', () => /^ready$/m.test(out), 60_000);
    assert.match(out, new RegExp(`^http  127\\.0\\.0\\.1:${http}  → server 127\\.0\\.0\\.1:\\d+`, 'm'));
    assert.match(out, new RegExp(`^grpc  127\\.0\\.0\\.1:${grpc}  → server`, 'm'));
    assert.match(out, /--tag network=wan/);
    const proxies = (await (await fetch(`http://127.0.0.1:${api}/proxies`)).json()) as Record<
      string,
      { toxics: unknown[] }
    >;
    assert.deepEqual(Object.keys(proxies).sort(), ['wan_grpc', 'wan_http']);
    assert.equal(proxies.wan_http!.toxics.length, 4, 'latency and bandwidth each way');
    const started = performance.now();
    const res = await fetch(`http://127.0.0.1:${http}/healthz`);
    const ms = performance.now() - started;
    assert.equal(res.status, 200);
    // 20 ± 5 ms each way: at least 30 ms for the request and its answer
    assert.ok(ms >= 30, `GET /healthz through wan took ${ms.toFixed(1)} ms`);
  } finally {
    proc.kill('SIGTERM');
  }
  assert.equal(await exited, 0, out);
  await assert.rejects(fetch(`http://127.0.0.1:${http}/healthz`), 'the proxy port is closed');
  await assert.rejects(fetch(`http://127.0.0.1:${api}/version`), 'toxiproxy is gone');
});

test('an unknown shape stops with exit 2, naming it and the known ones', () => {
  const res = spawnSync(process.execPath, [servers, '--network', 'wam'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(res.status, 2);
  assert.match(res.stderr, /unknown network shape 'wam' \(known: loopback, lan, wan, mobile-lte, mobile-3g/);
});
