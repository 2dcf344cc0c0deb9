// The echo workload's servers, driven by real clients against the real server process:
// WebSocket /echo (ws), and Socket.IO at /socket.io/ with the official socket.io-client and with
// our own packet layer (the one k6 uses) over a plain WebSocket. Bad input gets its specific
// answer (close 1009, CONNECT_ERROR, the connection dropped), and afterwards a good echo on a new
// connection still works and the server process is alive.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { io as officialClient, type Socket as OfficialSocket } from 'socket.io-client';
import { suiteServers, type Servers } from '../helpers.ts';
import {
  SocketDecoder,
  SocketType,
  decodeEngine,
  encodeEngine,
  engineUrl,
  parseHandshake,
  socketFrames,
  type Handshake,
  type SocketPacket,
} from '../../scripts/lib/transport/socketio-packets.ts';

const MAX = 4096; // the small server's maximum message size
const WAIT_MS = 3000;

interface Closed {
  code: number;
  reason: string;
}

function closedPromise(ws: WebSocket): Promise<Closed> {
  return new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
}

function within<T>(what: string, p: Promise<T>, ms = WAIT_MS): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms).unref()),
  ]);
}

async function statsOf(
  s: Servers,
  protocol: string,
): Promise<{ errors: number; messagesIn: number; connectionsTotal: number }> {
  const res = await fetch(`${s.httpUrl}/stats`);
  return (
    (await res.json()) as {
      protocols: Record<string, { errors: number; messagesIn: number; connectionsTotal: number }>;
    }
  ).protocols[protocol]!;
}

const alive = (s: Servers) => assert.equal(s.proc.exitCode, null, 'the server process is still running');

// ---- WebSocket /echo ----------------------------------------------------------------------

/** Sends `frames` on one connection and collects as many replies (with their type), or the close. */
function wsEcho(
  url: string,
  frames: Array<string | Buffer>,
): Promise<{ replies: Array<{ data: Buffer; binary: boolean }>; closed?: Closed }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const replies: Array<{ data: Buffer; binary: boolean }> = [];
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`got ${replies.length} of ${frames.length} echoes`));
    }, WAIT_MS);
    ws.on('open', () => {
      for (const f of frames) ws.send(f);
    });
    ws.on('message', (data, binary) => {
      replies.push({ data: data as Buffer, binary });
      if (replies.length === frames.length) {
        clearTimeout(timer);
        ws.close(1000);
        resolve({ replies });
      }
    });
    closedPromise(ws).then((closed) => {
      clearTimeout(timer);
      resolve({ replies, closed });
    });
    ws.on('error', () => {}); // the close event carries what we assert on
  });
}

describe('WebSocket /echo', () => {
  const suite = suiteServers({
    servers: ['--only', 'ws'],
    small: ['--only', 'ws', '--max-message-bytes', String(MAX)],
  });

  const goodEchoStillWorks = async (s: Servers) => {
    const { replies } = await wsEcho(s.wsUrl('/echo'), ['hi']);
    assert.equal(String(replies[0]?.data), 'hi', 'the server keeps serving');
    alive(s);
  };

  test('every frame comes back unchanged, text as text and binary as binary, in order', async () => {
    const binary = Buffer.from([0, 1, 2, 255]);
    const { replies } = await wsEcho(suite.servers.wsUrl('/echo'), [
      'hi',
      binary,
      'héllo ✓',
      Buffer.alloc(0),
      'x'.repeat(100_000),
    ]);
    assert.deepEqual(
      replies.map((r) => r.binary),
      [false, true, false, true, false],
    );
    assert.equal(String(replies[0]!.data), 'hi');
    assert.deepEqual(replies[1]!.data, binary);
    assert.equal(String(replies[2]!.data), 'héllo ✓');
    assert.equal(replies[3]!.data.length, 0);
    assert.equal(String(replies[4]!.data), 'x'.repeat(100_000));
    const ws = await statsOf(suite.servers, 'ws');
    assert.ok(ws.messagesIn >= 5 && ws.connectionsTotal >= 1, 'counted in /stats');
  });

  test('a frame over the maximum message size → close 1009', async () => {
    const text = await wsEcho(suite.small.wsUrl('/echo'), ['x'.repeat(MAX + 1)]);
    assert.equal(text.closed?.code, 1009);
    const binary = await wsEcho(suite.small.wsUrl('/echo'), ['fine', Buffer.alloc(MAX + 1)]);
    assert.equal(String(binary.replies[0]?.data), 'fine', 'frames before the oversized one were echoed');
    assert.equal(binary.closed?.code, 1009);
    await goodEchoStillWorks(suite.small);
  });

  test('exactly the maximum still echoes', async () => {
    const { replies } = await wsEcho(suite.small.wsUrl('/echo'), [Buffer.alloc(MAX, 7)]);
    assert.equal(replies[0]?.data.length, MAX);
  });
});

// ---- Socket.IO with our packet layer -------------------------------------------------------

/** A Socket.IO connection over a plain WebSocket, spoken with scripts/lib/transport/socketio-packets.ts. */
interface Session {
  ws: WebSocket;
  handshake: Handshake;
  /** The next Socket.IO packet from the server (pings are answered, attachments reassembled). */
  next(): Promise<SocketPacket>;
  send(packet: SocketPacket): void;
  /** Raw frames, for bad input. */
  sendRaw(...frames: Array<string | Buffer>): void;
  closed: Promise<Closed>;
}

async function openSession(s: Servers): Promise<Session> {
  const ws = new WebSocket(engineUrl(s.httpUrl));
  ws.on('error', () => {});
  const decoder = new SocketDecoder();
  const packets: SocketPacket[] = [];
  let wake: (() => void) | null = null;
  const closed = closedPromise(ws);
  const handshake = new Promise<Handshake>((resolve) => {
    ws.on('message', (data: Buffer, binary) => {
      if (binary) {
        const packet = decoder.binary(new Uint8Array(data).slice().buffer);
        if (packet) packets.push(packet);
      } else {
        const engine = decodeEngine(String(data));
        if (engine.type === 'open') resolve(parseHandshake(engine.data));
        if (engine.type === 'ping') ws.send(encodeEngine('pong'));
        if (engine.type !== 'message') return;
        const packet = decoder.text(engine.data);
        if (packet) packets.push(packet);
      }
      wake?.();
    });
  });
  const next = async (): Promise<SocketPacket> => {
    const until = Date.now() + WAIT_MS;
    while (packets.length === 0) {
      if (Date.now() > until || ws.readyState === WebSocket.CLOSED) throw new Error('no packet from the server');
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50).unref();
      });
    }
    return packets.shift()!;
  };
  return {
    ws,
    handshake: await within('Engine.IO open packet', handshake),
    next,
    send: (packet) => {
      for (const f of socketFrames(packet)) ws.send(f);
    },
    sendRaw: (...frames) => {
      for (const f of frames) ws.send(f);
    },
    closed,
  };
}

async function joinedSession(s: Servers, nsp = '/'): Promise<Session> {
  const session = await openSession(s);
  session.send({ type: SocketType.CONNECT, nsp });
  const ack = await session.next();
  assert.equal(ack.type, SocketType.CONNECT, `CONNECT ack, got ${JSON.stringify(ack)}`);
  return session;
}

async function goodSocketIoEchoStillWorks(s: Servers): Promise<void> {
  const session = await joinedSession(s);
  session.send({ type: SocketType.EVENT, nsp: '/', id: 1, data: ['echo', 'still here'] });
  assert.deepEqual(
    await session.next(),
    { type: SocketType.ACK, nsp: '/', id: 1, data: ['still here'] },
    'the server keeps serving',
  );
  session.ws.close();
  alive(s);
}

describe('Socket.IO server, spoken with our packet layer', () => {
  const suite = suiteServers({
    servers: ['--only', 'socketio'],
    small: ['--only', 'socketio', '--max-message-bytes', String(MAX)],
  });

  test('handshake: sid, ping timing and the maximum message size; CONNECT is acknowledged with a sid', async () => {
    const session = await openSession(suite.small);
    assert.match(session.handshake.sid, /^[\w-]{10,}$/);
    assert.ok(session.handshake.pingInterval > 0 && session.handshake.pingTimeout > 0);
    assert.equal(session.handshake.maxPayload, MAX);
    session.send({ type: SocketType.CONNECT, nsp: '/' });
    const ack = await session.next();
    assert.equal(ack.type, SocketType.CONNECT);
    assert.match((ack.data as { sid: string }).sid, /^[\w-]{10,}$/);
    session.ws.close();
  });

  test('echo acks with exactly what it got: text, several values, binary', async () => {
    const session = await joinedSession(suite.servers);
    session.send({ type: SocketType.EVENT, nsp: '/', id: 0, data: ['echo', 'hi'] });
    assert.deepEqual(await session.next(), { type: SocketType.ACK, nsp: '/', id: 0, data: ['hi'] });
    session.send({ type: SocketType.EVENT, nsp: '/', id: 1, data: ['echo', 'a', 2, { b: [null, true] }] });
    assert.deepEqual(await session.next(), {
      type: SocketType.ACK,
      nsp: '/',
      id: 1,
      data: ['a', 2, { b: [null, true] }],
    });
    const bytes = new Uint8Array([5, 4, 3, 2, 1]).buffer;
    session.send({ type: SocketType.EVENT, nsp: '/', id: 2, data: ['echo', bytes] });
    const ack = await session.next();
    assert.equal(ack.type, SocketType.BINARY_ACK);
    assert.equal(ack.id, 2);
    assert.deepEqual([...new Uint8Array((ack.data as ArrayBuffer[])[0]!)], [5, 4, 3, 2, 1]);
    session.ws.close();
    const stats = await statsOf(suite.servers, 'socketio');
    assert.ok(stats.messagesIn >= 5 && stats.connectionsTotal >= 1, 'counted in /stats as socketio');
  });

  test('CONNECT to an unknown namespace → CONNECT_ERROR; the connection stays usable', async () => {
    const session = await openSession(suite.servers);
    session.send({ type: SocketType.CONNECT, nsp: '/nope' });
    assert.deepEqual(await session.next(), {
      type: SocketType.CONNECT_ERROR,
      nsp: '/nope',
      data: { message: 'Invalid namespace' },
    });
    session.send({ type: SocketType.CONNECT, nsp: '/' });
    assert.equal((await session.next()).type, SocketType.CONNECT);
    session.send({ type: SocketType.EVENT, nsp: '/', id: 3, data: ['echo', 'same connection'] });
    assert.deepEqual((await session.next()).data, ['same connection']);
    session.ws.close();
  });

  // Socket.IO has no error packet for an undecodable packet: the server drops the connection
  // (a close frame without a status code, which the client sees as 1005).
  const dropped: Array<[string, boolean, Array<string | Buffer>]> = [
    ['garbage that is not an Engine.IO packet', false, ['hello']],
    ['an unknown Socket.IO packet type', true, ['49["echo"]']],
    ['bad JSON in an event', true, ['42["echo",']],
    ['an event that is not an array', true, ['42{"echo":1}']],
    ['an event for a namespace the client has not joined', true, ['42/nope,1["echo","x"]']],
    ['a binary frame that no binary packet announced', true, [Buffer.from([1, 2, 3])]],
  ];
  for (const [what, join, frames] of dropped) {
    test(`${what} → the server drops the connection`, async () => {
      const before = await statsOf(suite.servers, 'socketio');
      const session = join ? await joinedSession(suite.servers) : await openSession(suite.servers);
      session.sendRaw(...frames);
      const closed = await within('close', session.closed);
      assert.equal(closed.code, 1005, 'closed by the server without a status code');
      await goodSocketIoEchoStillWorks(suite.servers);
      assert.equal(
        (await statsOf(suite.servers, 'socketio')).errors,
        before.errors + 1,
        'counted as an error in /stats',
      );
    });
  }

  test('an event over the maximum message size → close 1009, text or binary attachment', async () => {
    const text = await joinedSession(suite.small);
    text.send({ type: SocketType.EVENT, nsp: '/', id: 1, data: ['echo', 'x'.repeat(MAX)] });
    assert.equal((await within('close', text.closed)).code, 1009);
    const binary = await joinedSession(suite.small);
    binary.send({ type: SocketType.EVENT, nsp: '/', id: 1, data: ['echo', new Uint8Array(MAX + 1).buffer] });
    assert.equal((await within('close', binary.closed)).code, 1009);
    await goodSocketIoEchoStillWorks(suite.small);
  });
});

// ---- Socket.IO with the official client ----------------------------------------------------

describe('Socket.IO server with the official socket.io-client', () => {
  const suite = suiteServers({ servers: [] });

  const connect = (transports: string[]) =>
    within(
      'official client connect',
      new Promise<OfficialSocket>((resolve, reject) => {
        const socket = officialClient(suite.servers.httpUrl, { transports, reconnection: false });
        socket.on('connect', () => resolve(socket));
        socket.on('connect_error', reject);
      }),
    );

  for (const transports of [['websocket'], ['polling', 'websocket']]) {
    test(`connects over ${transports.join(' → ')} and echoes text and binary with acks`, async () => {
      const socket = await connect(transports);
      try {
        assert.equal(await socket.timeout(WAIT_MS).emitWithAck('echo', 'hi'), 'hi');
        const bytes = Buffer.from([9, 8, 7, 0, 255]);
        const echoed: unknown = await socket.timeout(WAIT_MS).emitWithAck('echo', bytes);
        assert.ok(Buffer.isBuffer(echoed), 'binary comes back as binary');
        assert.deepEqual(echoed, bytes);
        const several = await new Promise<unknown[]>((resolve) =>
          socket.emit('echo', 'a', { b: 1 }, bytes, (...args: unknown[]) => resolve(args)),
        );
        assert.deepEqual(several, ['a', { b: 1 }, bytes]);
      } finally {
        socket.disconnect();
      }
    });
  }

  test('shares the HTTP server: other paths and WebSocket endpoints behave as before', async () => {
    const bare = await fetch(`${suite.servers.httpUrl}/socket.io/`);
    assert.equal(bare.status, 400, 'Engine.IO refuses a request without a transport');
    assert.equal((await fetch(`${suite.servers.httpUrl}/healthz`)).status, 200);
    assert.equal(
      (await fetch(`${suite.servers.httpUrl}/socket.io`)).status,
      404,
      'only the /socket.io/ prefix is delegated',
    );
    const err = await new Promise<Error>((resolve) => new WebSocket(suite.servers.wsUrl('/nope')).on('error', resolve));
    assert.match(err.message, /404/);
    const { replies } = await wsEcho(suite.servers.wsUrl('/echo'), ['still routed']);
    assert.equal(String(replies[0]?.data), 'still routed');
  });
});
