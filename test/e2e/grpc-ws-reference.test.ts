// Our bridge against improbable-eng's own grpcwebproxy (v0.15.0, built from the Go module proxy:
// tools/go/grpcwebproxy), each a process of its own (our bridge with --only grpc-ws
// --bridge-target) in front of the same gRPC server process, driven by the same official
// `@improbable-eng/grpc-web` client (WebsocketTransport, in Node over `ws`):
//   - the reference proxy answers the official client as our bridge does (the protocol is the same);
//   - with one message in flight, bidi EchoStream round trips in ROUND_MS each, alternating
//     bridge / proxy ROUNDS times so both see the same machine noise; our bridge sustains at
//     least the proxy's rate (best rounds compared, within NOISE: the machine is 2 shared
//     cores). The numbers are printed as test diagnostics:
//     node tools/test.mjs --tier e2e grpc-ws-reference
import { ECHO, ORDERS } from '../grpc-direct.ts';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { goTool } from '../../tools/k6.mjs';
import { startServers, suiteServers, waitFor, type Servers } from '../helpers.ts';
import { officialCall, officialInvoke, pingPong } from '../grpcweb-client.ts';

const ROUND_MS = 2000;
const ROUNDS = 4;
/** Ours may trail the reference by this fraction before the test calls it slower (2 shared cores). */
const NOISE = 0.2;

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

let servers: Servers;
let bridge: Servers;
let proxy: ChildProcess;
let proxyOut = '';
let ours: string;
let reference: string;

// The gRPC server is the suite's; the bridge and grpcwebproxy in front of it are started by setup
// (they need its address) and stopped by the after below.
suiteServers(
  { servers: ['--only', 'grpc'] },
  {
    setup: async (parts) => {
      servers = parts.servers;
      const [bin, port] = await Promise.all([
        goTool('github.com/improbable-eng/grpc-web/go/grpcwebproxy', { dir: 'tools/go/grpcwebproxy' }),
        freePort(),
      ]);
      bridge = await startServers(['--only', 'grpc-ws', '--bridge-target', servers.grpcAddr]);
      ours = `${bridge.httpUrl}/grpc-ws`;
      reference = `http://127.0.0.1:${port}`;
      proxy = spawn(
        bin,
        [
          `--backend_addr=${servers.grpcAddr}`,
          '--run_tls_server=false',
          '--server_bind_address=127.0.0.1',
          `--server_http_debug_port=${port}`,
          '--use_websockets',
          '--allow_all_origins',
          `--websocket_read_limit=${1 << 20}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      proxy.stdout!.on('data', (d) => (proxyOut += d));
      proxy.stderr!.on('data', (d) => (proxyOut += d));
      await waitFor(
        'grpcwebproxy to listen',
        async () => {
          if (proxy.exitCode !== null) throw new Error(`grpcwebproxy exited ${proxy.exitCode}:\n${proxyOut}`);
          return fetch(`${reference}/`).then(
            () => true,
            () => false,
          );
        },
        15_000,
      );
    },
  },
);

after(async () => {
  if (proxy && proxy.exitCode === null) {
    const exited = new Promise((r) => proxy.once('exit', r));
    proxy.kill('SIGTERM');
    await exited;
  }
  await bridge?.stop();
});

describe('our bridge and grpcwebproxy v0.15.0, same gRPC server, same official client', () => {
  test('the reference proxy answers the official client as our bridge does', async () => {
    const order = ORDERS.CreateOrder!.requestSerialize({
      userId: 'u1',
      items: [{ productId: 'sku-1', quantity: 2, price: 4.25 }],
      seq: 5,
    });
    const unary = { requestStream: false, responseStream: false };
    const [a, b] = await Promise.all([
      officialCall(ours, ORDERS.CreateOrder!.path, unary, [order]),
      officialCall(reference, ORDERS.CreateOrder!.path, unary, [order]),
    ]);
    assert.equal(a.code, grpc.status.OK, a.message);
    assert.equal(b.code, grpc.status.OK, `${b.message}\n${proxyOut}`);
    const seqOf = (bytes: Buffer) => (ORDERS.CreateOrder!.responseDeserialize(bytes) as { seq: number }).seq;
    assert.deepEqual([a.responses.map(seqOf), b.responses.map(seqOf)], [[5], [5]]);

    const sub = ORDERS.SubscribeOrders!.requestSerialize({ count: 20, intervalMs: 0, noteBytes: 10 });
    const [sa, sb] = await Promise.all([
      officialInvoke(ours, ORDERS.SubscribeOrders!.path, sub),
      officialInvoke(reference, ORDERS.SubscribeOrders!.path, sub),
    ]);
    assert.deepEqual([sa.code, sb.code], [0, 0]);
    assert.equal(sa.responses.length, 20);
    assert.equal(sb.responses.length, 20);

    const bad = ORDERS.CreateOrder!.requestSerialize({ userId: '', seq: 1 });
    const [ea, eb] = await Promise.all([
      officialCall(ours, ORDERS.CreateOrder!.path, unary, [bad]),
      officialCall(reference, ORDERS.CreateOrder!.path, unary, [bad]),
    ]);
    assert.equal(ea.code, grpc.status.INVALID_ARGUMENT);
    assert.deepEqual([eb.code, eb.message], [ea.code, ea.message], 'the same status and message');
  });

  test(`bidi round trips, one in flight, ${ROUND_MS} ms rounds alternating: ours ≥ the reference's within ${NOISE * 100}%`, async (t) => {
    const echo = ECHO.EchoStream!.requestSerialize({ seq: 1, payload: Buffer.from('hi') });
    const rates: Record<'bridge' | 'grpcwebproxy', number[]> = { bridge: [], grpcwebproxy: [] };
    // Warm both (JIT in the bridge process, connections to the gRPC server) before measuring.
    await pingPong(ours, ECHO.EchoStream!.path, echo, 1000);
    await pingPong(reference, ECHO.EchoStream!.path, echo, 1000);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, host] of [
        ['bridge', ours],
        ['grpcwebproxy', reference],
      ] as const) {
        const r = await pingPong(host, ECHO.EchoStream!.path, echo, ROUND_MS);
        assert.equal(r.code, grpc.status.OK, `${name}: ${r.message}`);
        rates[name].push(r.roundTrips);
      }
    }
    const best = (xs: number[]) => Math.max(...xs);
    t.diagnostic(
      `bidi round trips per ${ROUND_MS} ms, one in flight, ${ROUNDS} alternating rounds: bridge ${rates.bridge.join(', ')}; grpcwebproxy ${rates.grpcwebproxy.join(', ')}`,
    );
    t.diagnostic(
      `best: bridge ${best(rates.bridge)}, grpcwebproxy ${best(rates.grpcwebproxy)} (ratio ${(best(rates.bridge) / best(rates.grpcwebproxy)).toFixed(2)})`,
    );
    assert.ok(best(rates.grpcwebproxy) > 100, 'the reference proxy really carried the calls');
    assert.ok(
      best(rates.bridge) >= best(rates.grpcwebproxy) * (1 - NOISE),
      `our bridge made ${best(rates.bridge)} round trips, grpcwebproxy ${best(rates.grpcwebproxy)} (rounds: ${JSON.stringify(rates)})`,
    );
  });
});
