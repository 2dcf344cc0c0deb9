// What every reverse proxy in front of the servers must pass, shared by test/e2e/proxy-caddy.test.ts
// and test/nginx/proxy-nginx.test.ts: every scenario passes its checks through the proxy with no
// protocol errors — WebSocket upgrades, SSE, Socket.IO, gRPC over h2c in every call kind, the
// gRPC-over-WebSocket bridge — and the same proxy misconfigured to buffer responses holds an SSE
// stream back, which only time shows: nothing is lost.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allChecksPassed, alive, k6Bin, root, runK6, suiteServers, waitFor, type Servers } from './helpers.ts';
import { descendants, freePort } from '../tools/daemon.mjs';
import { behindProxy, startProxy, type Proxy } from '../tools/proxy.mjs';

const ONE = { ITERATIONS: '1', MONITOR: 'off' };
/** One iteration, except for the capacity scenarios, which size their own VUs and iterations (hold) or run open-model (churn). */
const baseEnv = (script: string) => (/-(hold|churn)\.js$/.test(script) ? { MONITOR: 'off' } : ONE);

/** Every scenario but the browser's (those need Chromium), small: [test name, script, env]. */
export const PROXY_RUNS: Array<[string, string, Record<string, string>]> = [
  ['ws-image sequential', 'ws-image.js', { IMAGES: '3', MODE: 'sequential' }],
  ['ws-image concurrent', 'ws-image.js', { IMAGES: '3', MODE: 'concurrent' }],
  ['grpc-image concurrent', 'grpc-image.js', { IMAGES: '3', MODE: 'concurrent' }],
  ['sse-feed', 'sse-feed.js', { WINDOW: '1500ms', MSG_RATE: '20' }],
  ['ws-feed', 'ws-feed.js', { WINDOW: '1500ms', MSG_RATE: '20' }],
  ['socketio-feed', 'socketio-feed.js', { WINDOW: '1500ms', MSG_RATE: '20' }],
  ['sse-feed drop', 'sse-feed.js', { MODE: 'drop', WINDOW: '2s', MSG_RATE: '20' }],
  ['socketio-feed drop', 'socketio-feed.js', { MODE: 'drop', WINDOW: '2s', MSG_RATE: '20' }],
  ['ws-echo', 'ws-echo.js', { WINDOW: '1s' }],
  ['socketio-echo', 'socketio-echo.js', { WINDOW: '1s' }],
  ['grpc-echo', 'grpc-echo.js', { WINDOW: '1s' }],
  ['grpc-unary', 'grpc-unary.js', { COUNT: '20' }],
  ['grpc-server-stream', 'grpc-server-stream.js', { COUNT: '20' }],
  ['grpc-client-stream', 'grpc-client-stream.js', { COUNT: '20' }],
  ['grpc-bidi pipelined', 'grpc-bidi.js', { COUNT: '20', MODE: 'pipelined' }],
  ['grpc-over-ws unary', 'grpc-over-ws.js', { CALL: 'unary', COUNT: '5' }],
  ['grpc-over-ws bidi', 'grpc-over-ws.js', { CALL: 'bidi', COUNT: '20' }],
  ['grpc-ws-stream', 'grpc-ws-stream.js', { COUNT: '20', INTERVAL: '10ms' }],
  // capacity: a few held connections on one VU, and a short churn
  ...['ws', 'sse', 'socketio', 'grpc', 'grpc-ws'].flatMap((t): Array<[string, string, Record<string, string>]> => [
    [`${t}-hold`, `${t}-hold.js`, { CONNS: '10', PER_VU: '10', CONNECT_RATE: '50', HOLD: '2s' }],
    [`${t}-churn`, `${t}-churn.js`, { CONNECT_RATE: '10', WINDOW: '2s' }],
  ]),
];

/**
 * Registers the tests for one proxy in the calling test file.
 * @param name      'caddy' | 'nginx'
 * @param buffering what the misconfigured proxy's buffering is called in its config, for the diagnostic
 * @param config    checks of the config the harness wrote for the streaming proxy
 */
export function proxyTests(name: string, { buffering, config }: { buffering: string; config: (text: string) => void }) {
  let proxy: Proxy;
  let buffered: Proxy;
  let via: Servers;
  const suite = suiteServers(
    { servers: [] },
    {
      k6: true,
      setup: async ({ servers }) => {
        const upstreams = { httpUpstream: new URL(servers.httpUrl).host, grpcUpstream: servers.grpcAddr };
        proxy = await startProxy(name, upstreams);
        buffered = await startProxy(name, { ...upstreams, buffering: 4096 });
        via = behindProxy(servers, proxy);
      },
    },
  );
  after(async () => {
    await proxy?.stop();
    await buffered?.stop();
  });

  test(`the harness points every protocol at ${name}, /stats stays direct; its config streams`, () => {
    const env = via.env();
    const proxyPort = new URL(proxy.httpUrl).port;
    for (const key of ['WS_URL', 'SSE_URL', 'SOCKETIO_URL']) assert.equal(new URL(env[key]!).port, proxyPort, key);
    assert.equal(env.GRPC_ADDR, proxy.grpcAddr);
    assert.equal(env.PROXY, name);
    assert.equal(env.STATS_URL, suite.servers.env().STATS_URL);
    config(readFileSync(proxy.configPath, 'utf8'));
  });

  for (const [title, script, env] of PROXY_RUNS) {
    test(`${title} passes its checks through ${name}`, async () => {
      const run = await runK6(
        script,
        { ...via.env(), ...baseEnv(script), ...env },
        { args: ['--tag', `proxy=${name}`] },
      );
      allChecksPassed(run, []);
      const m = run.summary.metrics;
      // a churned connection reads one first message (rtb_first_message_time); the others count rtb_messages
      assert.ok((m.rtb_messages?.count ?? m.rtb_first_message_time?.count ?? 0) > 0, 'messages were delivered');
      assert.equal(m.rtb_errors?.count ?? 0, 0, 'no protocol errors');
    });
  }

  test(`${name} buffering responses holds SSE back until its buffer is full; streaming config does not`, async (t) => {
    const env = SSE_BUFFERING_ENV;
    const good = await runK6('sse-feed.js', { ...via.env(), ...env });
    allChecksPassed(good, []);
    const bad = await runK6('sse-feed.js', { ...behindProxy(suite.servers, buffered).env(), ...env });
    // Only time suffers: sse-feed's latency threshold (p95 < 1 s) fails the run; nothing is lost.
    assert.equal(bad.code, 99, `k6 exits 99 when a threshold fails: ${bad.stderr.slice(-2000)}`);
    assert.match(bad.stderr, /thresholds on metrics 'rtb_latency' have been crossed/);
    const [g, b] = [good.summary.metrics, bad.summary.metrics];
    assert.equal(b.rtb_lost.count, 0);
    assert.equal(b.rtb_duplicates.count, 0);
    t.diagnostic(`SSE through ${name}: ${sseLine(g)}`);
    t.diagnostic(`SSE through ${name} with ${buffering}: ${sseLine(b)}`);
    // ~4 KB of ~150-byte events at 10/s: about 2.5 s pass before the proxy sends the headers and the first events
    assert.ok(b.rtb_connect_time.max > 1500, `buffered: connect ${b.rtb_connect_time.max} ms`);
    assert.ok(b.rtb_latency.max > 1500, `buffered: the first events waited ${b.rtb_latency.max} ms`);
    assert.ok(g.rtb_connect_time.max < 500, `streaming: connect ${g.rtb_connect_time.max} ms`);
    assert.ok(g.rtb_latency['p(95)'] < 200, `streaming: p95 ${g.rtb_latency['p(95)']} ms`);
  });
  return suite;
}

/** The SSE run the buffering tests compare: 10 events/s of 64-byte payloads for 4 s. */
export const SSE_BUFFERING_ENV = { ...ONE, WINDOW: '4s', MSG_RATE: '10', PAYLOAD_BYTES: '64' };

/** "connect … ms, latency p95 … ms max … ms" of an SSE run, for diagnostics. */
export const sseLine = (m: Record<string, any>) =>
  `connect ${m.rtb_connect_time.max.toFixed(0)} ms, latency p95 ${m.rtb_latency['p(95)'].toFixed(1)} ms max ${m.rtb_latency.max.toFixed(1)} ms`;

/**
 * Registers a test of `npm run servers -- --proxy NAME [extra]`: the proxy (behind toxiproxy
 * with `--network`) takes the usual ports, a WebSocket echo, an SSE feed and a gRPC call pass
 * through them, and SIGTERM stops everything, the proxy's every process included.
 */
export function serversBehindProxyTest(name: string, extra: string[] = []) {
  test(`npm run servers -- ${['--proxy', name, ...extra].join(' ')}: the usual ports go through ${name}, SIGTERM stops it all`, async () => {
    await k6Bin();
    const [http, grpc, api] = [await freePort(), await freePort(), await freePort()];
    const args = ['--proxy', name, ...extra, '--http-port', String(http), '--grpc-port', String(grpc)];
    const proc = spawn(
      process.execPath,
      [join(root, 'tools', 'servers.mjs'), ...args, '--toxiproxy-port', String(api)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    let tree: number[] = [];
    try {
      await waitFor('ready', () => /^ready$/m.test(out), 120_000);
      assert.match(out, new RegExp(`^proxy ${name} \\(config \\S+\\)`, 'm'));
      assert.match(out, new RegExp(`--tag proxy=${name}`));
      tree = descendants(proc.pid!); // the servers, the proxy (nginx: master and workers), toxiproxy
      const env = {
        ...ONE,
        WS_URL: `ws://127.0.0.1:${http}`,
        SSE_URL: `http://127.0.0.1:${http}/sse`,
        SOCKETIO_URL: `http://127.0.0.1:${http}`,
        GRPC_ADDR: `127.0.0.1:${grpc}`,
        STATS_URL: `http://127.0.0.1:${http}/stats`,
      };
      for (const [script, e] of [
        ['ws-echo.js', { WINDOW: '1s' }],
        ['sse-feed.js', { WINDOW: '1s', MSG_RATE: '20' }],
        ['grpc-unary.js', { COUNT: '10' }],
      ] as const) {
        const run = await runK6(script, { ...env, ...e });
        allChecksPassed(run, []);
        assert.ok(run.summary.metrics.rtb_messages?.count > 0, `${script}: messages were delivered`);
      }
    } finally {
      tree = tree.length ? tree : descendants(proc.pid!);
      proc.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
    await assert.rejects(fetch(`http://127.0.0.1:${http}/healthz`), 'the usual port is closed');
    assert.ok(tree.length >= 2, `the servers and ${name} were started: ${tree}`);
    await waitFor('every process it started to end', () => tree.every((pid) => !alive(pid)), 5000);
  });
}
