// --token: every surface refuses a request without the token (HTTP 401, WebSocket upgrade 401,
// SSE 401, Socket.IO CONNECT_ERROR "unauthorized", gRPC UNAUTHENTICATED, reflection included,
// the bridge's upgrade 401) and serves one that carries it (header, query, Socket.IO auth, gRPC
// metadata); /healthz stays open for liveness probes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { startServers, type Servers } from '../helpers.ts';
import { SUBPROTOCOL } from '../../contracts/grpc-websockets.ts';
import {
  BRIDGE_FINISH,
  assertHealthy,
  bridgeData,
  bridgeExchange,
  bridgeHeaders,
  bridgeTrailer,
  bridgeUrl,
  grpcClient,
  grpcRaw,
  pbVarint,
  socketIoEcho,
  wsExchange,
} from './hostile-lib.ts';

const TOKEN = 's3cret-token';
let s: Servers;
before(async () => {
  s = await startServers(['--token', TOKEN]);
});
after(async () => {
  assert.equal(await s.stop(), 0);
});

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

test('HTTP routes and SSE: 401 without the token or with a wrong one; served with it in the header or the query', async () => {
  assert.equal((await fetch(`${s.httpUrl}/healthz`)).status, 200, '/healthz is open');
  for (const headers of [
    {},
    bearer('wrong'),
    { authorization: TOKEN },
    { authorization: 'Basic czNjcmV0' },
    bearer(TOKEN + 'x'),
  ]) {
    const res = await fetch(`${s.httpUrl}/stats`, { headers });
    assert.equal(res.status, 401, `/stats with ${JSON.stringify(headers)}`);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
  }
  assert.equal((await fetch(`${s.httpUrl}/stats`, { headers: bearer(TOKEN) })).status, 200);
  assert.equal((await fetch(`${s.httpUrl}/stats?token=${TOKEN}`)).status, 200);
  const declare = (headers: Record<string, string>) =>
    fetch(`${s.httpUrl}/feed/channels`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: '{"name":"t","rate":0,"bytes":1}',
    });
  assert.equal((await declare({})).status, 401);
  assert.equal((await declare(bearer(TOKEN))).status, 201);
  assert.equal((await fetch(`${s.httpUrl}/sse?channel=t`)).status, 401);
  const sse = await fetch(`${s.httpUrl}/sse?channel=t&token=${TOKEN}`);
  assert.equal(sse.status, 200);
  await sse.body?.cancel();
});

test('WebSocket endpoints and the bridge: upgrade refused with 401 without the token', async () => {
  for (const path of ['/echo', '/image', '/feed']) {
    const out = await wsExchange(s.wsUrl(path), []);
    assert.equal(out.refused, 401, `${path} without a token`);
  }
  const ECHO = '/rtbench.echo.v1.EchoService/Echo';
  const noToken = await bridgeExchange(s, ECHO, []);
  assert.equal(noToken.refused, 401, 'the bridge without a token');
  const wrongToken = await bridgeExchange(s, ECHO, [], { headers: bearer('wrong') });
  assert.equal(wrongToken.refused, 401, 'the bridge with a wrong token');
  // A token in the call's metadata is not the upgrade's: the upgrade itself must carry it.
  const inMetadataOnly = await bridgeExchange(s, ECHO, [bridgeHeaders({ authorization: `Bearer ${TOKEN}` })]);
  assert.equal(inMetadataOnly.refused, 401, 'the bridge with the token only in the call metadata');
  const plainGet = await fetch(bridgeUrl(s, ECHO).replace(/^ws/, 'http'));
  assert.equal(plainGet.status, 401, 'a plain GET under /grpc-ws/ without a token');
  await plainGet.body?.cancel();
  assert.equal((await wsExchange(bridgeUrl(s, ECHO), [], { protocols: [SUBPROTOCOL] })).refused, 401);
  const viaHeader = await wsExchange(s.wsUrl('/echo'), ['hi'], { headers: bearer(TOKEN), until: (n) => n >= 1 });
  assert.equal(viaHeader.messages[0]?.data.toString(), 'hi');
  const viaQuery = await wsExchange(`${s.wsUrl('/echo')}?token=${TOKEN}`, ['hi'], { until: (n) => n >= 1 });
  assert.equal(viaQuery.messages[0]?.data.toString(), 'hi');
  // The bridge passes the token on to the gRPC server, which requires it too: by query and by header.
  const call = [bridgeHeaders(), bridgeData(pbVarint(1, 3)), BRIDGE_FINISH];
  const viaBridgeQuery = await bridgeExchange(s, ECHO, call, { url: `${bridgeUrl(s, ECHO)}?token=${TOKEN}` });
  assert.equal(bridgeTrailer(viaBridgeQuery)?.code, 0, 'a bridged Echo with ?token= succeeds upstream');
  const viaBridgeHeader = await bridgeExchange(s, ECHO, call, { headers: bearer(TOKEN) });
  assert.equal(
    bridgeTrailer(viaBridgeHeader)?.code,
    0,
    'a bridged Echo with the Authorization header succeeds upstream',
  );
  // A wrong token in the call's own metadata is passed on as it is, and the gRPC server refuses it.
  const ownMetadata = await bridgeExchange(
    s,
    ECHO,
    [bridgeHeaders({ authorization: 'Bearer wrong' }), bridgeData(pbVarint(1, 3)), BRIDGE_FINISH],
    { headers: bearer(TOKEN) },
  );
  assert.equal(bridgeTrailer(ownMetadata)?.code, grpc.status.UNAUTHENTICATED, 'the call metadata wins upstream');
});

test('Socket.IO: CONNECT_ERROR "unauthorized" without the token; served with auth {token}', async () => {
  assert.match(await socketIoEcho(s), /^44\{"message":"unauthorized"\}/);
  assert.match(await socketIoEcho(s, 'wrong'), /^44\{"message":"unauthorized"\}/);
  assert.equal(await socketIoEcho(s, TOKEN), '431["hi"]');
});

test('Socket.IO connection state recovery: a pid and offset without the token are refused like any CONNECT', async () => {
  const post = await fetch(`${s.httpUrl}/feed/channels`, {
    method: 'POST',
    body: JSON.stringify({ name: 'token-recovery', rate: 50, bytes: 8 }),
    headers: { 'content-type': 'application/json', ...bearer(TOKEN) },
  });
  assert.ok([200, 201].includes(post.status));
  /** CONNECT with `auth` (subscribing once joined when `subscribe`); the answers seen within `ms` or until `until`. */
  const session = (auth: object, subscribe: boolean, until: (texts: string[]) => boolean, ms = 3000) =>
    new Promise<string[]>((resolve) => {
      const ws = new WebSocket(`${s.wsUrl('/socket.io/')}?EIO=4&transport=websocket`);
      const texts: string[] = [];
      const done = () => {
        clearTimeout(timer);
        ws.terminate(); // no goodbye: a recoverable disconnect
        resolve(texts);
      };
      const timer = setTimeout(done, ms);
      ws.on('message', (d: Buffer) => {
        const m = d.toString();
        if (m.startsWith('0{')) return ws.send(`40${JSON.stringify(auth)}`);
        texts.push(m);
        if (subscribe && m.startsWith('40{'))
          ws.send(`420${JSON.stringify(['subscribe', { channel: 'token-recovery' }])}`);
        if (until(texts)) done();
      });
      ws.on('close', done);
      ws.on('error', () => {});
    });
  const feedEvents = (texts: string[]) => texts.filter((t) => t.startsWith('42["feed"'));
  const first = await session({ token: TOKEN }, true, (t) => feedEvents(t).length >= 3);
  const { pid } = JSON.parse(first[0]!.slice(2)) as { pid: string };
  const offset = (JSON.parse(feedEvents(first).at(-1)!.slice(2)) as string[])[2]!;
  await new Promise((r) => setTimeout(r, 100));
  const refused = await session({ pid, offset }, false, () => false, 1000);
  assert.ok(
    refused.some((t) => t === '44{"message":"unauthorized"}'),
    `CONNECT_ERROR: ${refused.join(' | ').slice(0, 200)}`,
  );
  assert.ok(!refused.some((t) => t.startsWith('40')), 'never joined');
  // socket.io writes the events the session missed before its middlewares run: at most those in
  // flight when the first connection went, never the live stream.
  assert.ok(feedEvents(refused).length <= 5, `${feedEvents(refused).length} events before the refusal`);
  const again = await session({ pid, offset, token: TOKEN }, false, (t) => t.some((m) => m.startsWith('40')));
  assert.notEqual(
    (JSON.parse(again.find((t) => t.startsWith('40'))!.slice(2)) as { pid: string }).pid,
    pid,
    'the refused attempt used the session up: a fresh one',
  );
});

test('gRPC: UNAUTHENTICATED without the token, reflection included; served with authorization metadata', async () => {
  const client = grpcClient(s);
  try {
    const none = await grpcRaw(client, '/rtbench.echo.v1.EchoService/Echo', 'unary', [pbVarint(1, 1)]);
    assert.equal(none.code, grpc.status.UNAUTHENTICATED);
    const wrong = new grpc.Metadata();
    wrong.set('authorization', 'Bearer nope');
    assert.equal(
      (await grpcRaw(client, '/rtbench.echo.v1.EchoService/EchoStream', 'bidi', [pbVarint(1, 1)], wrong)).code,
      grpc.status.UNAUTHENTICATED,
    );
    assert.equal(
      (
        await grpcRaw(client, '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo', 'bidi', [
          Buffer.from([0x3a, 0x00]),
        ])
      ).code,
      grpc.status.UNAUTHENTICATED,
    );
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${TOKEN}`);
    assert.equal((await grpcRaw(client, '/rtbench.echo.v1.EchoService/Echo', 'unary', [pbVarint(1, 1)], md)).code, 0);
  } finally {
    client.close();
  }
  await assertHealthy(s, { rssMiB: 400, token: TOKEN });
});
