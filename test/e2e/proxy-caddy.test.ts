// A real reverse proxy in front: Caddy (built from the Go module proxy) with the config the
// harness writes. Every scenario passes its checks through it — WebSocket upgrades, SSE,
// Socket.IO, gRPC over h2c in every call kind, the gRPC-over-WebSocket bridge — and a proxy
// misconfigured to buffer responses holds an SSE stream back until its buffer is full
// (the tests are shared with nginx's: test/proxy-scenarios.ts).
import assert from 'node:assert/strict';
import { proxyTests, serversBehindProxyTest } from '../proxy-scenarios.ts';

proxyTests('caddy', {
  buffering: 'response_buffers 4096',
  config: (text) => {
    const cfg = JSON.parse(text);
    assert.deepEqual(cfg.apps.http.servers.grpc.routes[0].handle[0].transport, { protocol: 'http', versions: ['h2c'] });
    assert.equal(cfg.apps.http.servers.http.routes[0].handle[0].flush_interval, -1);
    assert.equal(cfg.apps.http.servers.http.routes[0].handle[0].response_buffers, undefined);
  },
});

serversBehindProxyTest('caddy');
