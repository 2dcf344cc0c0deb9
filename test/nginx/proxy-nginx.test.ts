// The nginx tier (`npm run test:nginx`, not part of `npm test`: nginx is an optional extra, the
// system package `nginx`): the same scenarios as test/e2e/proxy-caddy.test.ts through nginx with
// the config the harness writes (test/proxy-scenarios.ts) — every scenario passes its checks with
// no protocol errors, and nginx buffering responses (a bare proxy_pass: HTTP/1.0 to the server,
// proxy_buffering on, the server's `X-Accel-Buffering: no` ignored) holds an SSE stream back until
// a buffer is full, while with that header obeyed the stream flows.
// tools/test.mjs refuses this tier, naming the package, when nginx is missing.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { allChecksPassed, runK6 } from '../helpers.ts';
import { behindProxy, startProxy, type Proxy } from '../../tools/proxy.mjs';
import { SSE_BUFFERING_ENV, proxyTests, serversBehindProxyTest, sseLine } from '../proxy-scenarios.ts';

const suite = proxyTests('nginx', {
  buffering:
    'a bare proxy_pass (HTTP/1.0 upstream, proxy_buffering on), proxy_buffers 8 4096, X-Accel-Buffering ignored',
  config: (text) => {
    // what streaming needs: WebSocket upgrades passed on, SSE unbuffered, gRPC over h2c, long timeouts
    for (const line of [
      'proxy_http_version 1.1;',
      'proxy_set_header Upgrade $http_upgrade;',
      'proxy_set_header Connection $connection_upgrade;',
      'proxy_buffering off;',
      'proxy_read_timeout 3600s;',
      'grpc_read_timeout 3600s;',
      'error_log stderr warn;',
    ])
      assert.ok(text.includes(line), `nginx.conf has '${line}'`);
    assert.match(text, /listen 127\.0\.0\.1:\d+ http2;/);
    assert.match(text, /grpc_pass grpc:\/\/rtbench_grpc;/);
    // nothing in /etc or /var: pid, lock and temp paths are in the run's own folder
    assert.doesNotMatch(text, /\/(etc|var)\//);
  },
});

let hinted: Proxy | undefined;
after(() => hinted?.stop());

test("nginx's default buffering obeys the SSE server's X-Accel-Buffering: no, so the stream still flows", async (t) => {
  const { servers } = suite;
  hinted = await startProxy('nginx', {
    httpUpstream: new URL(servers.httpUrl).host,
    grpcUpstream: servers.grpcAddr,
    buffering: 4096,
    bufferingHint: true,
  });
  const run = await runK6('sse-feed.js', { ...behindProxy(servers, hinted).env(), ...SSE_BUFFERING_ENV });
  allChecksPassed(run, []);
  const m = run.summary.metrics;
  t.diagnostic(`SSE through nginx, a bare proxy_pass with proxy_buffers 8 4096, header obeyed: ${sseLine(m)}`);
  assert.ok(m.rtb_connect_time.max < 500, `connect ${m.rtb_connect_time.max} ms`);
  assert.ok(m.rtb_latency['p(95)'] < 200, `p95 ${m.rtb_latency['p(95)']} ms`);
});

serversBehindProxyTest('nginx');
serversBehindProxyTest('nginx', ['--network', 'lan']);
