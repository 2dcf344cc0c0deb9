// End to end: our Socket.IO and WebSocket feed clients (scripts/lib/transport/socketio.ts, ws.ts)
// closed while a reconnect's WebSocket handshake is still under way. k6/websockets' close() on a
// connecting WebSocket waited for the handshake to end, and for ever if it then failed: the VU's
// event loop stopped and k6 never finished (what hung 7 of 20 VUs after a 10,000-connection
// storm). Our k6/x/ws abandons the handshake instead; this keeps it that way. Here a TCP proxy
// in front of the real server cuts every connection once all are open, holds the reconnects'
// handshakes past the end of the hold and then fails them: k6 must still finish, with a summary.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { checksOf, k6Bin, runK6, startServers, type Servers } from '../helpers.ts';

let servers: Servers;
let proxy: Server;
let proxyUrl = '';
/** The proxy's connections: each client socket with its upstream (null while stalled). */
const links = new Map<Socket, Socket | null>();
let stalling = false;
const stallTimers = new Set<NodeJS.Timeout>();

/** How long a stalled handshake is held before the proxy fails it: well past the end of the hold. */
const STALL_MS = 8_000;

before(async () => {
  await k6Bin();
  servers = await startServers();
  const upstream = new URL(servers.httpUrl);
  proxy = createServer((client) => {
    client.on('error', () => {});
    client.on('close', () => {
      links.get(client)?.destroy();
      links.delete(client);
    });
    if (stalling) {
      // accepted, never answered, then cut: the WebSocket handshake fails after STALL_MS
      links.set(client, null);
      const timer = setTimeout(() => {
        stallTimers.delete(timer);
        client.destroy();
      }, STALL_MS);
      stallTimers.add(timer);
      return;
    }
    const server = createConnection({ host: upstream.hostname, port: Number(upstream.port) });
    server.on('error', () => client.destroy());
    server.on('close', () => client.destroy());
    links.set(client, server);
    client.pipe(server).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  assert.ok(address && typeof address === 'object');
  proxyUrl = `http://127.0.0.1:${address.port}`;
});
after(async () => {
  for (const t of stallTimers) clearTimeout(t);
  for (const [client, server] of links) {
    client.destroy();
    server?.destroy();
  }
  await new Promise((resolve) => proxy?.close(resolve));
  await servers?.stop();
});

const connections = async (protocol: string) => {
  const s = (await (await fetch(`${servers.httpUrl}/stats`)).json()) as {
    protocols: Record<string, { connections: number }>;
  };
  return s.protocols[protocol]?.connections ?? 0;
};

for (const { script, protocol, address } of [
  { script: 'socketio-hold.js', protocol: 'socketio', address: () => ({ SOCKETIO_URL: proxyUrl }) },
  { script: 'ws-hold.js', protocol: 'ws', address: () => ({ WS_URL: proxyUrl.replace(/^http/, 'ws') }) },
])
  test(`${script}: the hold ends while every client is reconnecting, and k6 still finishes`, async () => {
    const CONNS = 20;
    stalling = false;
    const open = () => connections(protocol);
    // once all are open: cut them at the proxy, whose new connections stall (the reconnects)
    const cut = (async () => {
      const until = Date.now() + 30_000;
      while (Date.now() < until && (await open()) < CONNS) await new Promise((r) => setTimeout(r, 100));
      stalling = true;
      for (const [client] of links) client.destroy();
    })();
    const started = Date.now();
    const run = await runK6(
      script,
      {
        ...servers.env(),
        ...address(),
        CONNS: String(CONNS),
        PER_VU: '10',
        CONNECT_RATE: '100',
        HOLD: '4s',
        MONITOR: 'off',
      },
      // k6's own end (maxDuration + gracefulStop) is 94 s: a VU blocked in close() outlives it, so this kill is the failure
      { timeoutMs: 60_000 },
    );
    await cut;
    const ms = Date.now() - started;
    assert.ok(stalling, 'every connection was open before the cut');
    assert.ok(run.summary, `k6 finished and wrote its summary (exit ${run.code}, ${ms} ms): ${run.stderr.slice(-500)}`);
    const m = run.summary.metrics;
    assert.equal(m.rtb_connections.count, CONNS);
    // every client was still reconnecting when the hold ended: none received to the end
    assert.deepEqual(checksOf(run.summary)['kept receiving until the end'], { passes: 0, fails: CONNS });
    // closed at the end of the hold (about 4.2 s in), the stalled handshakes failed STALL_MS after the cut
    assert.ok(ms < 45_000, `k6 ended ${ms} ms after it started`);
    assert.equal(await open(), 0, 'nothing left open on the server');
  });

test('grpc-over-ws: a bridge call whose deadline passes while its handshake stalls ends, and k6 finishes', async () => {
  stalling = true; // every connection from now on: accepted, never answered, cut after STALL_MS
  const started = Date.now();
  const run = await runK6(
    'grpc-over-ws.js',
    {
      ...servers.env(),
      WS_URL: proxyUrl.replace(/^http/, 'ws'),
      CALL: 'unary',
      COUNT: '1',
      ITERATIONS: '1',
      TIMEOUT: '2s',
      MONITOR: 'off',
    },
    // without the fix the deadline's close() blocks the VU for ever: this kill is the failure
    { timeoutMs: 60_000 },
  );
  const ms = Date.now() - started;
  assert.ok(run.summary, `k6 finished and wrote its summary (exit ${run.code}, ${ms} ms): ${run.stderr.slice(-500)}`);
  // the call failed (its deadline, then the cut handshake) instead of hanging the VU
  assert.ok(run.summary.metrics.rtb_errors?.count >= 1, 'the call counted as failed');
  assert.ok(ms < 45_000, `k6 ended ${ms} ms after it started`);
});
