// The gRPC-over-WebSocket bridge driven by a Node `ws` client speaking improbable-eng's
// grpc-websockets protocol byte by byte (contracts/grpc-websockets.ts), against the real server
// process: every call kind through the bridge returns the same
// responses as the same call made directly with @grpc/grpc-js; bad input gets its specific
// status and close code, and a good call afterwards still works; a client that goes away (close
// frame or cut connection) cancels the call upstream; a client that stops reading stops the stream instead of filling memory.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { suiteServers, startServers, waitFor, type Servers } from '../helpers.ts';
import { ECHO, ORDERS, direct } from '../grpc-direct.ts';
import {
  FINISH_SEND,
  FLAG_DATA,
  FrameReader,
  SUBPROTOCOL,
  clientData,
  decodeTrailer,
  encodeFrame,
  encodeHeaderLines,
} from '../../contracts/grpc-websockets.ts';

const SMALL_MAX = 4096;
const WAIT_MS = 5000;
/** An unknown field with wire type 7, which does not exist: no message type decodes it. */
const NOT_PROTOBUF = Buffer.from([0x7f, 0x01]);

const suite = suiteServers({
  servers: [],
  small: ['--max-message-bytes', String(SMALL_MAX)],
  narrow: ['--grpc-max-streams', '2'],
});

interface Outcome {
  /** The response headers (the 0x80 frame before the responses), as lines. */
  headers?: string;
  /** Response message bodies (protobuf bytes), in order. */
  responses: Buffer[];
  trailer?: { code: number; message: string };
  closed: { code: number; reason: string };
}

const data = (body: Buffer) => Buffer.from(clientData(encodeFrame(FLAG_DATA, body)));
const FINISH = Buffer.from(FINISH_SEND);
/** The request headers improbable's client sends, plus `metadata`. */
const headers = (metadata: Record<string, string> = {}) =>
  Buffer.from(
    encodeHeaderLines([
      ['content-type', 'application/grpc-web+proto'],
      ['x-grpc-web', '1'],
      ...Object.entries(metadata),
    ]),
  );

const openCall = (s: Servers, path: string, protocols: string[] = [SUBPROTOCOL]) =>
  new WebSocket(s.wsUrl(`/grpc-ws${path}`), protocols);

/**
 * One call through the bridge: opens /grpc-ws/<path> with subprotocol grpc-websockets, sends
 * `messages` (strings as text, Buffers as binary) and collects the frames until the bridge
 * closes. `onResponse` may answer a response with more messages (for ping-pong on a stream).
 */
function bridged(
  s: Servers,
  path: string,
  messages: Array<string | Buffer>,
  onResponse?: (body: Buffer, ws: WebSocket) => void,
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = openCall(s, path);
    const out: Outcome = { responses: [], closed: { code: 0, reason: '' } };
    const reader = new FrameReader(Number.MAX_SAFE_INTEGER);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`bridge did not close within ${WAIT_MS} ms (${out.responses.length} responses)`));
    }, WAIT_MS);
    ws.on('open', () => {
      assert.equal(ws.protocol, SUBPROTOCOL, 'the bridge chose the grpc-websockets subprotocol');
      for (const m of messages) ws.send(m, { binary: typeof m !== 'string' });
    });
    ws.on('message', (raw: Buffer, isBinary) => {
      assert.ok(isBinary, 'the bridge sends binary messages only');
      assert.equal(raw.readUInt32BE(1), raw.length - 5, 'our bridge sends one whole frame per message');
      for (const frame of reader.push(raw)) {
        assert.ok(!out.trailer, 'nothing follows the trailer');
        const body = Buffer.from(frame.body);
        if (frame.flag === 0x80) {
          const status = decodeTrailer(body);
          if (status) out.trailer = status;
          else {
            assert.equal(out.headers, undefined, 'one headers frame');
            assert.equal(out.responses.length, 0, 'the headers come before the responses');
            out.headers = body.toString('latin1');
          }
        } else {
          assert.equal(frame.flag, 0x00, 'a response frame');
          assert.ok(out.headers !== undefined, 'a response comes after the headers frame');
          out.responses.push(body);
          onResponse?.(body, ws);
        }
      }
    });
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      out.closed = { code, reason: String(reason) };
      resolve(out);
    });
    ws.on('error', () => {}); // the close carries what we assert on
  });
}

/** A whole call through the bridge: headers, every request, the finish-send. */
const bridgedCall = (s: Servers, path: string, requests: Buffer[]) =>
  bridged(s, path, [headers(), ...requests.map(data), FINISH]);

const encode = (def: protoLoader.MethodDefinition<object, object>, message: object) => def.requestSerialize(message);
const decode = (def: protoLoader.MethodDefinition<object, object>, bytes: Buffer) =>
  def.responseDeserialize(bytes) as Record<string, unknown>;

/** Decoded responses with the fields that differ from call to call (ids, server clocks) blanked. */
const comparable = (def: protoLoader.MethodDefinition<object, object>, bodies: Buffer[]) =>
  bodies.map((b) => {
    const m = decode(def, b);
    return { ...m, ...('id' in m ? { id: '*' } : {}), ...('serverSendMs' in m ? { serverSendMs: '*' } : {}) };
  });

/** Runs the same call through the bridge and directly; asserts both end OK with the same responses. */
async function sameAsDirect(
  def: protoLoader.MethodDefinition<object, object>,
  requests: Buffer[],
  { exact = false } = {},
) {
  const [viaBridge, straight] = await Promise.all([
    bridgedCall(suite.servers, def.path, requests),
    direct(suite.servers, def, requests),
  ]);
  assert.equal(straight.status.code, grpc.status.OK, straight.status.details);
  assert.deepEqual(viaBridge.trailer, { code: grpc.status.OK, message: straight.status.details });
  assert.deepEqual(viaBridge.closed, { code: 1000, reason: 'OK' });
  if (exact) assert.deepEqual(viaBridge.responses, straight.responses, 'byte for byte the same responses');
  else assert.deepEqual(comparable(def, viaBridge.responses), comparable(def, straight.responses));
  return viaBridge.responses.map((b) => decode(def, b));
}

const orderRequest = (seq: number, over: Record<string, unknown> = {}) =>
  encode(ORDERS.CreateOrder!, {
    userId: 'u1',
    items: [{ productId: 'sku-1', quantity: 2, price: 4.25 }],
    seq,
    note: Buffer.from('note'),
    ...over,
  });

async function statsOf(
  s: Servers,
  protocol: string,
): Promise<{ errors: number; messagesOut: number; bytesOut: number; connections: number }> {
  const res = await fetch(`${s.httpUrl}/stats`);
  return (
    (await res.json()) as {
      protocols: Record<string, { errors: number; messagesOut: number; bytesOut: number; connections: number }>;
    }
  ).protocols[protocol]!;
}

/** A good call through the bridge after bad input: the bridge and the process kept serving. */
async function goodCallStillWorks(s: Servers = suite.servers) {
  const out = await bridgedCall(s, ECHO.Echo!.path, [
    encode(ECHO.Echo!, { seq: 9, payload: Buffer.from('still here') }),
  ]);
  assert.equal(out.trailer?.code, grpc.status.OK, 'the bridge keeps serving after bad input');
  assert.deepEqual(
    out.responses.map((b) => decode(ECHO.Echo!, b)),
    [{ seq: 9, payload: Buffer.from('still here'), clientSendMs: 0 }],
    'echo equals what was sent',
  );
  assert.equal(s.proc.exitCode, null, 'the server process is still running');
}

describe('bridge: every call kind returns what direct gRPC returns', () => {
  test('the address line is printed', () => {
    assert.match(suite.servers.output(), /^grpc-ws\s+ws:\/\/127\.0\.0\.1:\d+\/grpc-ws\s+→ grpc 127\.0\.0\.1:\d+$/m);
  });

  test('unary: Echo byte for byte, CreateOrder the same order', async () => {
    await sameAsDirect(ECHO.Echo!, [encode(ECHO.Echo!, { seq: 1, payload: Buffer.from('hi'), clientSendMs: 12.5 })], {
      exact: true,
    });
    const [order] = await sameAsDirect(ORDERS.CreateOrder!, [orderRequest(7)]);
    assert.equal(order!.seq, 7);
    assert.equal(order!.total, 8.5);
  });

  test('server streaming: SubscribeOrders, every order in order', async () => {
    const orders = await sameAsDirect(ORDERS.SubscribeOrders!, [
      encode(ORDERS.SubscribeOrders!, { count: 20, intervalMs: 0, noteBytes: 100, statuses: ['SHIPPED'] }),
    ]);
    assert.deepEqual(
      orders.map((o) => o.seq),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  });

  test('client streaming: BulkCreateOrders counts the same orders and gaps', async () => {
    const [bulk] = await sameAsDirect(
      ORDERS.BulkCreateOrders!,
      [1, 2, 4, 7].map((seq) => orderRequest(seq)),
      { exact: true },
    );
    assert.deepEqual(bulk, { created: 4, total: 34, seqsMissing: [3, 5, 6] });
  });

  test('bidi: ProcessOrders and EchoStream answer every message, in order', async () => {
    const actions = [1, 2, 3, 4, 5].map((seq) =>
      encode(ORDERS.ProcessOrders!, {
        orderId: `o-${seq}`,
        action: seq === 5 ? 'cancel' : 'process',
        seq,
        payload: Buffer.from('p'),
      }),
    );
    const results = await sameAsDirect(ORDERS.ProcessOrders!, actions);
    assert.deepEqual(
      results.map((r) => r.status),
      ['PROCESSING', 'PROCESSING', 'PROCESSING', 'PROCESSING', 'CANCELLED'],
    );
    const echoes = [1, 2, 3].map((seq) => encode(ECHO.EchoStream!, { seq, payload: Buffer.alloc(1000, seq) }));
    await sameAsDirect(ECHO.EchoStream!, echoes, { exact: true });
  });

  test('bidi is forwarded as it arrives: ping-pong before any finish-send', async () => {
    const msg = (seq: number) => data(encode(ECHO.EchoStream!, { seq, payload: Buffer.from(`m${seq}`) }));
    let sent = 1;
    const out = await bridged(suite.servers, ECHO.EchoStream!.path, [headers(), msg(1)], (_body, ws) => {
      // Each echo arrives while the stream is still open; only then is the next message sent.
      ws.send(++sent <= 5 ? msg(sent) : FINISH);
    });
    assert.equal(out.trailer?.code, grpc.status.OK);
    assert.deepEqual(
      out.responses.map((b) => decode(ECHO.EchoStream!, b).seq),
      [1, 2, 3, 4, 5],
    );
  });

  test('metadata in the headers message is accepted; an error status is relayed as direct gRPC gives it, trailers-only', async () => {
    const bad = orderRequest(3, { userId: '' });
    const viaBridge = await bridged(suite.servers, ORDERS.CreateOrder!.path, [
      headers({ 'x-rtbench': 'test', 'x-trace-bin': 'AAEC' }),
      data(bad),
      FINISH,
    ]);
    const straight = await direct(suite.servers, ORDERS.CreateOrder!, [bad]);
    assert.equal(straight.status.code, grpc.status.INVALID_ARGUMENT);
    assert.deepEqual(viaBridge.trailer, { code: straight.status.code, message: straight.status.details });
    assert.deepEqual(
      viaBridge.closed,
      { code: 1000, reason: 'InvalidArgument' },
      'a gRPC status is a normal end of the call',
    );
    assert.deepEqual(viaBridge.responses, []);
    assert.equal(viaBridge.headers, undefined, 'no headers frame before a trailers-only answer');
  });

  test('a frame split across data messages, and two frames in one message, are read as one stream', async () => {
    const frames = Buffer.concat(
      [1, 2, 3].map((seq) =>
        Buffer.from(encodeFrame(FLAG_DATA, encode(ECHO.EchoStream!, { seq, payload: Buffer.from(`m${seq}`) }))),
      ),
    );
    const cut = (part: Buffer) => Buffer.concat([Buffer.from([0]), part]);
    const out = await bridged(suite.servers, ECHO.EchoStream!.path, [
      headers(),
      cut(frames.subarray(0, 3)),
      cut(frames.subarray(3, 20)),
      cut(frames.subarray(20)),
      FINISH,
    ]);
    assert.equal(out.trailer?.code, grpc.status.OK, out.trailer?.message);
    assert.deepEqual(
      out.responses.map((b) => decode(ECHO.EchoStream!, b).seq),
      [1, 2, 3],
    );
    assert.match(out.headers!, /^content-type: application\/grpc-web\+proto\r\n/);
  });

  test("many WebSocket clients at once are not held to one upstream connection's stream limit", async () => {
    // The gRPC server here allows 2 concurrent streams per connection. Six 2-second streams through
    // the bridge finish together (about 2 s) only if the bridge opens more upstream connections;
    // on one connection they would run two at a time (about 6 s, past the 5 s wait).
    const request = encode(ORDERS.SubscribeOrders!, { count: 10, intervalMs: 200, noteBytes: 10 });
    const started = Date.now();
    const outs = await Promise.all(
      Array.from({ length: 6 }, () => bridgedCall(suite.narrow, ORDERS.SubscribeOrders!.path, [request])),
    );
    for (const out of outs) {
      assert.equal(out.trailer?.code, 0, JSON.stringify(out.trailer));
      assert.equal(out.responses.length, 10);
    }
    assert.ok(Date.now() - started < 4500, `six streams took ${Date.now() - started} ms`);
  });

  test('an upgrade without the grpc-websockets subprotocol is refused with HTTP 400; a plain GET gets 426', async () => {
    const ws = openCall(suite.servers, ECHO.Echo!.path, []);
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    ws.terminate();
    assert.equal(status, 400);
    const res = await fetch(`${suite.servers.httpUrl}/grpc-ws${ECHO.Echo!.path}`);
    assert.equal(res.status, 426);
    assert.match(((await res.json()) as { error: string }).error, /subprotocol grpc-websockets/);
  });
});

describe('bridge: bad input gets its specific answer, and the bridge keeps serving', () => {
  const echoPath = () => ECHO.Echo!.path;

  test('invalid protobuf passes through; the server answers INVALID_ARGUMENT, relayed', async () => {
    const out = await bridgedCall(suite.servers, echoPath(), [NOT_PROTOBUF]);
    const straight = await direct(suite.servers, ECHO.Echo!, [NOT_PROTOBUF]);
    assert.equal(out.trailer?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(out.trailer!.message, /EchoMessage is not valid protobuf/);
    assert.equal(out.trailer!.message, straight.status.details, 'the same status as direct gRPC');
    assert.equal(out.closed.code, 1000);
    await goodCallStillWorks();
  });

  test('unknown method → UNIMPLEMENTED, close 1000', async () => {
    const out = await bridgedCall(suite.servers, '/rtbench.echo.v1.EchoService/Shout', [Buffer.from('x')]);
    const notAPath = await bridgedCall(suite.servers, '/no-method-here', [Buffer.from('x')]);
    assert.deepEqual(notAPath.trailer, { code: grpc.status.UNIMPLEMENTED, message: 'unknown method /no-method-here' });
    assert.deepEqual(out.trailer, {
      code: grpc.status.UNIMPLEMENTED,
      message: 'unknown method /rtbench.echo.v1.EchoService/Shout',
    });
    assert.equal(out.closed.code, 1000);
    assert.deepEqual(out.responses, []);
    await goodCallStillWorks();
  });

  const echo = (...messages: Array<string | Buffer>) => ({
    path: echoPath(),
    messages: () => [headers(), ...messages],
  });
  const stream = (...messages: Array<string | Buffer>) => ({
    path: ECHO.EchoStream!.path,
    messages: () => [headers(), ...messages],
  });
  const refusals: Array<{
    name: string;
    call: () => { path: string; messages: () => Array<string | Buffer> };
    code: grpc.status;
    close: number;
    message: RegExp;
  }> = [
    {
      name: 'a frame unfinished at the finish-send (prefix says 10 bytes, 2 follow)',
      call: () => echo(Buffer.from([0, 0, 0, 0, 0, 10, 1, 2]), FINISH),
      code: grpc.status.INVALID_ARGUMENT,
      close: 1007,
      message: /finish-send with 7 bytes of an unfinished frame/,
    },
    {
      name: 'a data message not starting with 0x00',
      call: () => echo(Buffer.from([2, 0, 0, 0, 0, 0])),
      code: grpc.status.INVALID_ARGUMENT,
      close: 1007,
      message: /message starts with 0x02/,
    },
    {
      name: 'an empty message',
      call: () => echo(Buffer.alloc(0)),
      code: grpc.status.INVALID_ARGUMENT,
      close: 1007,
      message: /empty message/,
    },
    {
      name: 'a frame announcing more than the maximum message size',
      call: () => echo(Buffer.from([0, 0, 0x7f, 0, 0, 0, 1])),
      code: grpc.status.RESOURCE_EXHAUSTED,
      close: 1009,
      message: /frame of 2130706432 bytes exceeds the maximum message size 8388608/,
    },
    {
      name: 'a text headers message',
      call: () => ({ path: echoPath(), messages: () => ['content-type: application/grpc-web+proto\r\n'] }),
      code: grpc.status.INVALID_ARGUMENT,
      close: 1007,
      message: /every message must be binary/,
    },
    {
      name: 'a header line that is not name: value',
      call: () => ({ path: echoPath(), messages: () => [Buffer.from('hello world\r\n')] }),
      code: grpc.status.INVALID_ARGUMENT,
      close: 1007,
      message: /is not 'name: value'/,
    },
    {
      name: 'a bad grpc-timeout',
      call: () => ({ path: echoPath(), messages: () => [headers({ 'grpc-timeout': 'soon' })] }),
      code: grpc.status.INVALID_ARGUMENT,
      close: 1007,
      message: /grpc-timeout "soon"/,
    },
    {
      name: 'a second request on a unary call',
      call: () => echo(data(Buffer.from([8, 1])), data(Buffer.from([8, 2]))),
      code: grpc.status.INVALID_ARGUMENT,
      close: 1007,
      message: /takes exactly one request; a second one came/,
    },
    {
      name: 'a finish-send before the unary request',
      call: () => echo(FINISH),
      code: grpc.status.INVALID_ARGUMENT,
      close: 1007,
      message: /the finish-send came first/,
    },
    {
      name: 'a compressed frame',
      call: () => echo(Buffer.from([0, 1, 0, 0, 0, 1, 8])),
      code: grpc.status.UNIMPLEMENTED,
      close: 1007,
      message: /compressed frames/,
    },
    {
      name: 'a text message after the headers',
      call: () => stream('not a frame'),
      code: grpc.status.INVALID_ARGUMENT,
      close: 1007,
      message: /every message must be binary/,
    },
    {
      name: 'a message after the finish-send',
      call: () => stream(FINISH, data(Buffer.from([8, 1]))),
      code: grpc.status.INVALID_ARGUMENT,
      close: 1007,
      message: /message after the finish-send/,
    },
  ];
  for (const r of refusals) {
    test(`${r.name} → ${grpc.status[r.code]}, close ${r.close}`, async () => {
      const before = await statsOf(suite.servers, 'grpc-ws');
      const { path, messages } = r.call();
      const out = await bridged(suite.servers, path, messages());
      assert.equal(out.trailer?.code, r.code, `trailer ${JSON.stringify(out.trailer)}`);
      assert.match(out.trailer!.message, r.message);
      assert.equal(out.closed.code, r.close);
      assert.match(out.closed.reason, r.message, 'the close reason says what was wrong');
      assert.equal((await statsOf(suite.servers, 'grpc-ws')).errors, before.errors + 1, 'counted as a bridge error');
      await goodCallStillWorks();
    });
  }

  test('a frame over the maximum message size: RESOURCE_EXHAUSTED by its prefix, 1009 from ws by its size', async () => {
    const big = encode(ECHO.Echo!, { seq: 1, payload: Buffer.alloc(SMALL_MAX) });
    const announced = await bridged(suite.small, ECHO.Echo!.path, [headers(), data(big).subarray(0, 100)]);
    assert.equal(announced.trailer?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(
      announced.trailer!.message,
      new RegExp(`frame of ${big.length} bytes exceeds the maximum message size ${SMALL_MAX}`),
    );
    assert.equal(announced.closed.code, 1009);
    const whole = await bridged(suite.small, ECHO.Echo!.path, [headers(), data(big)]);
    assert.equal(whole.closed.code, 1009, 'a WebSocket message larger than any frame is refused by its size');
    await goodCallStillWorks(suite.small);
    // The largest message that fits still goes through both hops.
    const fits = encode(ECHO.Echo!, { seq: 1, payload: Buffer.alloc(SMALL_MAX - 16, 7) });
    assert.ok(fits.length <= SMALL_MAX);
    const out = await bridgedCall(suite.small, ECHO.Echo!.path, [fits]);
    assert.equal(out.trailer?.code, grpc.status.OK, out.trailer?.message);
    assert.deepEqual(
      out.responses.map((b) => decode(ECHO.Echo!, b).payload),
      [Buffer.alloc(SMALL_MAX - 16, 7)],
    );
  });
});

describe('bridge: a client that leaves or stops reading', () => {
  /** Starts a SubscribeOrders call of 100,000 orders of ~1 KB (~100 MB); resolves at the first order. */
  function subscribed(onFirst: (ws: WebSocket) => void): Promise<WebSocket> {
    const ws = openCall(suite.servers, ORDERS.SubscribeOrders!.path);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`no order within ${WAIT_MS} ms`));
      }, WAIT_MS);
      ws.on('open', () => {
        ws.send(headers());
        ws.send(data(encode(ORDERS.SubscribeOrders!, { count: 100_000, intervalMs: 0, noteBytes: 1000 })));
        ws.send(FINISH);
      });
      // The headers frame, then the first order.
      let seen = 0;
      ws.on('message', () => {
        if (++seen === 2) {
          clearTimeout(timer);
          onFirst(ws);
          resolve(ws);
        }
      });
      ws.on('error', () => {});
    });
  }

  /** Waits until the gRPC server's messagesOut stops growing; returns it. */
  async function settledGrpcOut(s: Servers): Promise<number> {
    let last = -1;
    return waitFor(
      'the gRPC stream to stop',
      async () => {
        await new Promise((r) => setTimeout(r, 300));
        const now = (await statsOf(s, 'grpc')).messagesOut;
        const settled = now === last;
        last = now;
        return settled ? now : 0;
      },
      10_000,
    );
  }

  test('closing the WebSocket mid-stream cancels the call upstream', async () => {
    const before = (await statsOf(suite.servers, 'grpc')).messagesOut;
    await subscribed((ws) => ws.close(1000));
    const out = await settledGrpcOut(suite.servers);
    assert.ok(out - before < 100_000, `the server stopped streaming after ${out - before} of 100000 orders`);
    await waitFor(
      'the bridge connection to close',
      async () => (await statsOf(suite.servers, 'grpc-ws')).connections === 0,
    );
    await goodCallStillWorks();
  });

  test('a bidi call whose connection is cut without a close frame (a network outage) is cancelled upstream', async () => {
    const streams = async () => (await statsOf(suite.servers, 'grpc-stream')).connections;
    const before = await streams();
    const ws = openCall(suite.servers, ORDERS.ProcessOrders!.path);
    ws.on('error', () => {});
    const answered = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no result within ${WAIT_MS} ms`)), WAIT_MS);
      let seen = 0; // the headers frame, then the result
      ws.on('message', () => {
        if (++seen === 2) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    ws.on('open', () => {
      ws.send(headers());
      ws.send(data(encode(ORDERS.ProcessOrders!, { orderId: 'o-1', action: 'process', seq: 1 })));
    });
    try {
      await answered;
      assert.equal(await streams(), before + 1, 'the call is open on the gRPC server while its WebSocket is');
    } finally {
      ws.terminate(); // the TCP connection goes, no close frame: what a cut network leaves the bridge
    }
    await waitFor('the gRPC server to see the call cancelled', async () => (await streams()) === before);
    await waitFor(
      'the bridge connection to close',
      async () => (await statsOf(suite.servers, 'grpc-ws')).connections === 0,
    );
    await goodCallStillWorks();
  });

  test('a client that stops reading stalls the stream instead of filling the bridge', async () => {
    const ws = await subscribed((w) => w.pause());
    const before = await statsOf(suite.servers, 'grpc-ws');
    await settledGrpcOut(suite.servers);
    const after = await statsOf(suite.servers, 'grpc-ws');
    // 100,000 orders of ~1 KB are ~100 MB; what left the bridge is bounded by its 1 MiB high-water
    // mark plus what the kernel's socket buffers took.
    const queued = after.bytesOut - before.bytesOut;
    assert.ok(queued < 32 * 1024 * 1024, `the bridge queued ${queued} bytes for a client that does not read`);
    ws.terminate();
    await waitFor(
      'the bridge connection to close',
      async () => (await statsOf(suite.servers, 'grpc-ws')).connections === 0,
    );
    await goodCallStillWorks();
  });
});

describe('bridge: --bridge-target', () => {
  test('a bridge-only process forwards to another gRPC server', async () => {
    const bridgeOnly = await startServers(['--only', 'grpc-ws', '--bridge-target', suite.servers.grpcAddr]);
    try {
      assert.match(bridgeOnly.output(), new RegExp(`→ grpc ${suite.servers.grpcAddr.replace(/\./g, '\\.')}$`, 'm'));
      await goodCallStillWorks(bridgeOnly);
    } finally {
      assert.equal(await bridgeOnly.stop(), 0);
    }
  });

  test('grpc-ws without grpc and without a target, or a target that is not host:port, stops with a clear message', async () => {
    await assert.rejects(startServers(['--only', 'grpc-ws']), /--only: grpc-ws without grpc needs --bridge-target/);
    await assert.rejects(
      startServers(['--bridge-target', 'http://x:1']),
      /--bridge-target: 'http:\/\/x:1' is not host:port/,
    );
  });
});
