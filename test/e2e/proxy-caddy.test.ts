// A real reverse proxy in front: Caddy (built from the Go module proxy) with the config the
// harness writes. Every scenario passes its checks through it — WebSocket upgrades, SSE,
// Socket.IO, gRPC over h2c in every call kind, the gRPC-over-WebSocket bridge — and a proxy
// misconfigured to buffer responses holds an SSE stream back until its buffer is full.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { allChecksPassed, runK6, suiteServers, type Servers } from '../helpers.ts';
import { behindProxy, caddyConfig, startProxy, type Proxy } from '../../tools/proxy.mjs';

let caddy: Proxy;
let buffering: Proxy;
let via: Servers;
const suite = suiteServers(
  { servers: [] },
  {
    k6: true,
    setup: async ({ servers }) => {
      const upstreams = { httpUpstream: new URL(servers.httpUrl).host, grpcUpstream: servers.grpcAddr };
      caddy = await startProxy('caddy', upstreams);
      buffering = await startProxy('caddy', { ...upstreams, buffering: 4096 });
      via = behindProxy(servers, caddy);
    },
  },
);
after(async () => {
  await caddy?.stop();
  await buffering?.stop();
});

const ONE = { ITERATIONS: '1', MONITOR: 'off' };
const RUNS: Array<[string, string, Record<string, string>]> = [
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
];

test('the harness points every protocol at Caddy, /stats stays direct', () => {
  const env = via.env();
  const proxyPort = new URL(caddy.httpUrl).port;
  for (const key of ['WS_URL', 'SSE_URL', 'SOCKETIO_URL']) assert.equal(new URL(env[key]!).port, proxyPort, key);
  assert.equal(env.GRPC_ADDR, caddy.grpcAddr);
  assert.equal(env.STATS_URL, suite.servers.env().STATS_URL);
  const cfg = caddyConfig({ httpListen: 'a:1', grpcListen: 'b:2', httpUpstream: 'c:3', grpcUpstream: 'd:4' }) as any;
  assert.deepEqual(cfg.apps.http.servers.grpc.routes[0].handle[0].transport, { protocol: 'http', versions: ['h2c'] });
  assert.equal(cfg.apps.http.servers.http.routes[0].handle[0].flush_interval, -1);
  assert.equal(cfg.apps.http.servers.http.routes[0].handle[0].response_buffers, undefined);
});

for (const [name, script, env] of RUNS) {
  test(`${name} passes its checks through Caddy`, async () => {
    const run = await runK6(script, { ...via.env(), ...ONE, ...env }, { args: ['--tag', 'proxy=caddy'] });
    allChecksPassed(run, []);
    assert.ok(run.summary.metrics.rtb_messages?.count > 0, 'messages were delivered');
    assert.equal(run.summary.metrics.rtb_errors, undefined, 'no protocol errors');
  });
}

test('a proxy that buffers responses holds SSE back until its buffer is full; streaming config does not', async (t) => {
  const env = { ...ONE, WINDOW: '4s', MSG_RATE: '10', PAYLOAD_BYTES: '64' };
  const good = await runK6('sse-feed.js', { ...via.env(), ...env });
  allChecksPassed(good, []);
  const bad = await runK6('sse-feed.js', { ...behindProxy(suite.servers, buffering).env(), ...env });
  // Only time suffers: sse-feed's latency threshold (p95 < 1 s) fails the run; nothing is lost.
  assert.equal(bad.code, 99, `k6 exits 99 when a threshold fails: ${bad.stderr.slice(-2000)}`);
  assert.match(bad.stderr, /thresholds on metrics 'rtb_latency' have been crossed/);
  const [g, b] = [good.summary.metrics, bad.summary.metrics];
  assert.equal(b.rtb_lost.count, 0);
  assert.equal(b.rtb_duplicates.count, 0);
  t.diagnostic(
    `SSE through caddy: connect ${g.rtb_connect_time.max.toFixed(0)} ms, latency p95 ${g.rtb_latency['p(95)'].toFixed(1)} ms max ${g.rtb_latency.max.toFixed(0)} ms`,
  );
  t.diagnostic(
    `SSE through caddy with response_buffers 4096: connect ${b.rtb_connect_time.max.toFixed(0)} ms, latency p95 ${b.rtb_latency['p(95)'].toFixed(1)} ms max ${b.rtb_latency.max.toFixed(0)} ms`,
  );
  // ~4 KB of ~150-byte events at 10/s: about 2.5 s pass before Caddy sends the headers and the first events
  assert.ok(b.rtb_connect_time.max > 1500, `buffered: connect ${b.rtb_connect_time.max} ms`);
  assert.ok(b.rtb_latency.max > 1500, `buffered: the first events waited ${b.rtb_latency.max} ms`);
  assert.ok(g.rtb_connect_time.max < 500, `streaming: connect ${g.rtb_connect_time.max} ms`);
  assert.ok(g.rtb_latency['p(95)'] < 200, `streaming: p95 ${g.rtb_latency['p(95)']} ms`);
});
