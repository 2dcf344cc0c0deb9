// OrderService and EchoService (seeds 004, 002) driven by a real @grpc/grpc-js client against the
// real server process: each call kind answers what the contract says; invalid protobuf, unknown
// methods, oversized and semantically bad messages get their specific status, and a good call
// afterwards still works. Server streams honour backpressure and stop on cancel.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { suiteServers, root, waitFor } from '../helpers.ts';

const SMALL_MAX = 4096;
/** An unknown field with wire type 7, which does not exist: no message type decodes it. */
const NOT_PROTOBUF = Buffer.from([0x7f, 0x01]);

interface Order {
  id: string;
  userId: string;
  total: number;
  status: string;
  seq: number;
  serverSendMs: number;
  note: Buffer;
}
interface OrderResult {
  orderId: string;
  status: string;
  seq: number;
  payload: Buffer;
  serverSendMs: number;
}
interface Bulk {
  created: number;
  total: number;
  seqsMissing: number[];
}
interface Echo {
  seq: number;
  payload: Buffer;
  clientSendMs: number;
}
type Ctor = grpc.ServiceClientConstructor;

const pkg = grpc.loadPackageDefinition(
  protoLoader.loadSync(['orders.proto', 'echo.proto'], {
    includeDirs: [join(root, 'proto')],
    longs: Number,
    enums: String,
    defaults: true,
  }),
) as unknown as { rtbench: { orders: { v1: { OrderService: Ctor } }; echo: { v1: { EchoService: Ctor } } } };

const suite = suiteServers({ servers: [], small: ['--max-message-bytes', String(SMALL_MAX)] });

// Clients are closed after each call so a broken call cannot leak into the next one.
function client(ctor: Ctor, addr: string): grpc.Client & Record<string, any> {
  return new ctor(addr, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 1 << 20 }) as any;
}
const orders = (addr = suite.servers.grpcAddr) => client(pkg.rtbench.orders.v1.OrderService, addr);
const echoes = (addr = suite.servers.grpcAddr) => client(pkg.rtbench.echo.v1.EchoService, addr);
const raw = (addr = suite.servers.grpcAddr) => new grpc.Client(addr, grpc.credentials.createInsecure());
const same = (b: Buffer) => b;

const request = (seq: number, over: Record<string, unknown> = {}) => ({
  userId: 'u1',
  items: [{ productId: 'sku-1', quantity: 2, price: 4.25 }],
  seq,
  note: Buffer.from('note'),
  ...over,
});

function unary<T>(
  c: grpc.Client & Record<string, any>,
  method: string,
  req: unknown,
): Promise<{ err: grpc.ServiceError | null; res?: T }> {
  return new Promise((resolve) =>
    c[method](req, (err: grpc.ServiceError | null, res: T) => {
      c.close();
      resolve({ err, res });
    }),
  );
}

/** Collects a response stream until it ends; resolves with the messages and the final error, if any. */
function collect<T>(
  call: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>,
  close: () => void,
): Promise<{ msgs: T[]; err: grpc.ServiceError | null }> {
  return new Promise((resolve) => {
    const msgs: T[] = [];
    let err: grpc.ServiceError | null = null;
    call.on('data', (m: T) => msgs.push(m));
    call.on('error', (e: grpc.ServiceError) => (err = e));
    call.on('status', () =>
      setImmediate(() => {
        close();
        resolve({ msgs, err });
      }),
    );
  });
}

function rawBidi(addr: string, path: string, frames: Buffer[]) {
  const c = raw(addr);
  const call = c.makeBidiStreamRequest(path, same, same);
  const done = collect<Buffer>(call, () => c.close());
  for (const f of frames) call.write(f);
  call.end();
  return done;
}

async function createStillWorks(addr = suite.servers.grpcAddr) {
  const { err, res } = await unary<Order>(orders(addr), 'CreateOrder', request(42));
  assert.equal(err, null, 'server keeps serving after bad input');
  assert.equal(res?.seq, 42);
}

async function echoStreamStillWorks(addr = suite.servers.grpcAddr) {
  const c = echoes(addr);
  const call = c.EchoStream();
  const done = collect<Echo>(call, () => c.close());
  call.write({ seq: 1, payload: Buffer.from('hi') });
  call.end();
  const { msgs, err } = await done;
  assert.equal(err, null, 'server keeps serving streams after bad input');
  assert.equal(msgs[0]?.payload.toString(), 'hi');
}

function assertStatus(err: grpc.ServiceError | null, code: grpc.status, details: RegExp) {
  assert.ok(err, `expected status ${grpc.status[code]}, got OK`);
  assert.equal(err.code, code, `expected ${grpc.status[code]}, got ${grpc.status[err.code]}: ${err.details}`);
  assert.match(err.details, details);
}

describe('OrderService: the four call patterns', () => {
  test('CreateOrder answers the order with seq, note and total', async () => {
    const { err, res } = await unary<Order>(orders(), 'CreateOrder', request(7));
    assert.equal(err, null);
    assert.equal(res!.seq, 7);
    assert.equal(res!.userId, 'u1');
    assert.equal(res!.total, 8.5);
    assert.equal(res!.status, 'CONFIRMED');
    assert.equal(res!.note.toString(), 'note');
    assert.ok(Math.abs(res!.serverSendMs - Date.now()) < 10_000, 'server_send_ms is a wall-clock ms timestamp');
  });

  test('SubscribeOrders streams count orders with seq 1..count, send stamps and the padding', async () => {
    const c = orders();
    const { msgs, err } = await collect<Order>(
      c.SubscribeOrders({ count: 5, intervalMs: 5, noteBytes: 30, statuses: ['SHIPPED', 'DELIVERED'] }),
      () => c.close(),
    );
    assert.equal(err, null);
    assert.deepEqual(
      msgs.map((o) => o.seq),
      [1, 2, 3, 4, 5],
    );
    assert.deepEqual(
      msgs.map((o) => o.status),
      ['SHIPPED', 'DELIVERED', 'SHIPPED', 'DELIVERED', 'SHIPPED'],
    );
    assert.equal(msgs[0]!.note.toString(), 'abcdefghijklmnopqrstuvwxyzabcd');
    for (let i = 1; i < msgs.length; i++)
      assert.ok(msgs[i]!.serverSendMs >= msgs[i - 1]!.serverSendMs + 4, 'orders are interval_ms apart');
  });

  test('BulkCreateOrders counts what arrived and names the seqs the client skipped', async () => {
    const c = orders();
    const res = await new Promise<{ err: grpc.ServiceError | null; res?: Bulk }>((resolve) => {
      const call = c.BulkCreateOrders((err: grpc.ServiceError | null, res: Bulk) => {
        c.close();
        resolve({ err, res });
      });
      for (const seq of [1, 2, 4, 7]) call.write(request(seq));
      call.end();
    });
    assert.equal(res.err, null);
    assert.deepEqual({ ...res.res }, { created: 4, total: 34, seqsMissing: [3, 5, 6] });
  });

  test('ProcessOrders answers every action in order with its payload and a send stamp', async () => {
    const c = orders();
    const call = c.ProcessOrders();
    const done = collect<OrderResult>(call, () => c.close());
    call.write({ orderId: 'o1', action: 'process', seq: 1, payload: Buffer.from('p1') });
    call.write({ orderId: 'o2', action: 'cancel', seq: 2, payload: Buffer.from('p2') });
    call.end();
    const { msgs, err } = await done;
    assert.equal(err, null);
    assert.deepEqual(
      msgs.map((r) => [r.orderId, r.status, r.seq, r.payload.toString()]),
      [
        ['o1', 'PROCESSING', 1, 'p1'],
        ['o2', 'CANCELLED', 2, 'p2'],
      ],
    );
    assert.ok(msgs.every((r) => r.serverSendMs > 0));
  });
});

describe('EchoService', () => {
  test('Echo and EchoStream return every message exactly as sent, in order', async () => {
    const { err, res } = await unary<Echo>(echoes(), 'Echo', {
      seq: 3,
      payload: Buffer.from('hi'),
      clientSendMs: 12.5,
    });
    assert.equal(err, null);
    assert.deepEqual({ ...res }, { seq: 3, payload: Buffer.from('hi'), clientSendMs: 12.5 });
    const c = echoes();
    const call = c.EchoStream();
    const done = collect<Echo>(call, () => c.close());
    for (let seq = 1; seq <= 100; seq++) call.write({ seq, payload: Buffer.from(`m${seq}`), clientSendMs: seq });
    call.end();
    const { msgs, err: streamErr } = await done;
    assert.equal(streamErr, null);
    assert.equal(msgs.length, 100);
    msgs.forEach((m, i) =>
      assert.deepEqual({ ...m }, { seq: i + 1, payload: Buffer.from(`m${i + 1}`), clientSendMs: i + 1 }),
    );
  });
});

describe('bad input gets a specific status; the server keeps serving', () => {
  test('invalid protobuf on a unary call → INVALID_ARGUMENT naming the type', async () => {
    const c = raw();
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      c.makeUnaryRequest('/rtbench.orders.v1.OrderService/CreateOrder', same, same, NOT_PROTOBUF, (e) => {
        c.close();
        resolve(e);
      }),
    );
    assertStatus(err, grpc.status.INVALID_ARGUMENT, /CreateOrderRequest is not valid protobuf/);
    await createStillWorks();
  });

  test('invalid protobuf as a server-streaming request → INVALID_ARGUMENT naming the type', async () => {
    const c = raw();
    const { err } = await collect(
      c.makeServerStreamRequest('/rtbench.orders.v1.OrderService/SubscribeOrders', same, same, NOT_PROTOBUF),
      () => c.close(),
    );
    assertStatus(err, grpc.status.INVALID_ARGUMENT, /OrderFilter is not valid protobuf/);
    await createStillWorks();
  });

  test('invalid protobuf mid bidi stream → the answers so far, then INVALID_ARGUMENT naming the type', async () => {
    const action = pkg.rtbench.orders.v1.OrderService.service.ProcessOrders!.requestSerialize({
      orderId: 'o1',
      action: 'process',
      seq: 1,
    });
    const { msgs, err } = await rawBidi(suite.servers.grpcAddr, '/rtbench.orders.v1.OrderService/ProcessOrders', [
      action,
      NOT_PROTOBUF,
      action,
    ]);
    assert.equal(msgs.length, 1, 'the good action before the bad one was answered, nothing after it');
    assertStatus(err, grpc.status.INVALID_ARGUMENT, /OrderAction is not valid protobuf/);
    const echo = await rawBidi(suite.servers.grpcAddr, '/rtbench.echo.v1.EchoService/EchoStream', [NOT_PROTOBUF]);
    assertStatus(echo.err, grpc.status.INVALID_ARGUMENT, /EchoMessage is not valid protobuf/);
    await echoStreamStillWorks();
  });

  test('invalid protobuf on a client stream → INVALID_ARGUMENT naming the type', async () => {
    const c = raw();
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      const call = c.makeClientStreamRequest('/rtbench.orders.v1.OrderService/BulkCreateOrders', same, same, (e) => {
        c.close();
        resolve(e);
      });
      call.write(NOT_PROTOBUF);
      call.end();
    });
    assertStatus(err, grpc.status.INVALID_ARGUMENT, /CreateOrderRequest is not valid protobuf/);
    await createStillWorks();
  });

  test('unknown methods and services → UNIMPLEMENTED', async () => {
    for (const path of ['/rtbench.orders.v1.OrderService/DeleteOrder', '/rtbench.nope.v1.Nope/Call']) {
      const c = raw();
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        c.makeUnaryRequest(path, same, same, Buffer.alloc(0), (e) => {
          c.close();
          resolve(e);
        }),
      );
      assertStatus(err, grpc.status.UNIMPLEMENTED, new RegExp(path.split('/').pop()!));
    }
    await createStillWorks();
  });

  test('a message over the maximum size → RESOURCE_EXHAUSTED, on a unary call and mid stream', async () => {
    const big = Buffer.alloc(SMALL_MAX + 1, 1);
    const { err } = await unary(orders(suite.small.grpcAddr), 'CreateOrder', request(1, { note: big }));
    assertStatus(err, grpc.status.RESOURCE_EXHAUSTED, /larger than max|exceeds/i);
    await createStillWorks(suite.small.grpcAddr);

    const c = echoes(suite.small.grpcAddr);
    const call = c.EchoStream();
    const done = collect<Echo>(call, () => c.close());
    call.write({ seq: 1, payload: Buffer.from('hi') });
    call.write({ seq: 2, payload: big });
    call.end();
    const res = await done;
    assertStatus(res.err, grpc.status.RESOURCE_EXHAUSTED, /larger than max|exceeds/i);
    assert.ok(res.msgs.length <= 1);
    await echoStreamStillWorks(suite.small.grpcAddr);
  });

  const semantic: Array<[string, () => Promise<grpc.ServiceError | null>, RegExp]> = [
    [
      'CreateOrder with an empty user_id',
      async () => (await unary(orders(), 'CreateOrder', request(1, { userId: '' }))).err,
      /seq 1: user_id is empty/,
    ],
    [
      'CreateOrder with quantity 0',
      async () =>
        (await unary(orders(), 'CreateOrder', request(1, { items: [{ productId: 'x', quantity: 0, price: 1 }] }))).err,
      /items\[0\]\.quantity must be at least 1/,
    ],
    [
      'SubscribeOrders over the count cap',
      async () => {
        const c = orders();
        return (await collect(c.SubscribeOrders({ count: 100_001 }), () => c.close())).err;
      },
      /count must be 1 to 100000, got 100001/,
    ],
    [
      'SubscribeOrders with count 0',
      async () => {
        const c = orders();
        return (await collect(c.SubscribeOrders({ count: 0 }), () => c.close())).err;
      },
      /count must be 1 to 100000, got 0/,
    ],
    [
      'SubscribeOrders with a note larger than a message may be',
      async () => {
        const c = orders(suite.small.grpcAddr);
        return (await collect(c.SubscribeOrders({ count: 1, noteBytes: SMALL_MAX }), () => c.close())).err;
      },
      /note_bytes must be at most 3072/,
    ],
    [
      'BulkCreateOrders with an empty user_id mid stream',
      async () => {
        const c = orders();
        return new Promise((resolve) => {
          const call = c.BulkCreateOrders((err: grpc.ServiceError | null) => {
            c.close();
            resolve(err);
          });
          call.write(request(1));
          call.write(request(2, { userId: '' }));
          call.end();
        });
      },
      /seq 2: user_id is empty/,
    ],
    [
      'ProcessOrders with an unknown action',
      async () => {
        const c = orders();
        const call = c.ProcessOrders();
        const done = collect(call, () => c.close());
        call.write({ orderId: 'o1', action: 'refund', seq: 9 });
        call.end();
        return (await done).err;
      },
      /seq 9: action must be "process" or "cancel", got "refund"/,
    ],
  ];
  for (const [what, call, details] of semantic) {
    test(`${what} → INVALID_ARGUMENT saying what is wrong`, async () => {
      assertStatus(await call(), grpc.status.INVALID_ARGUMENT, details);
      await createStillWorks();
    });
  }
});

describe('server streaming flow control', () => {
  test('a client that stops reading stops the server making orders (backpressure)', async () => {
    // 3000 orders of 16 KB (48 MB) far exceed what HTTP/2 windows and stream buffers hold, so
    // orders made after the client resumes must carry send stamps from after the pause.
    const c = orders();
    const call: grpc.ClientReadableStream<Order> = c.SubscribeOrders({ count: 3000, noteBytes: 16_000 });
    const pauseMs = 600;
    let resumedAt = 0;
    let last: Order | undefined;
    let n = 0;
    const done = new Promise<grpc.ServiceError | null>((resolve) => {
      call.on('error', resolve);
      call.on('end', () => resolve(null));
    });
    call.once('data', () => {
      call.pause();
      setTimeout(() => {
        resumedAt = Date.now();
        call.resume();
      }, pauseMs);
    });
    call.on('data', (o: Order) => {
      n++;
      last = o;
    });
    assert.equal(await done, null);
    c.close();
    assert.equal(n, 3000);
    assert.equal(last!.seq, 3000);
    assert.ok(
      last!.serverSendMs >= resumedAt - 1,
      `the last order was made after the client resumed (made ${last!.serverSendMs.toFixed(0)}, resumed ${resumedAt})`,
    );
  });

  test('cancelling a paced stream stops it; the server keeps serving', async () => {
    const stats = async () =>
      ((await (await fetch(`${suite.servers.httpUrl}/stats`)).json()) as any).protocols.grpc.messagesOut as number;
    const c = orders();
    const call: grpc.ClientReadableStream<Order> = c.SubscribeOrders({ count: 10_000, intervalMs: 10 });
    const cancelled = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
    let n = 0;
    call.on('data', () => {
      if (++n === 3) call.cancel();
    });
    assert.equal((await cancelled).code, grpc.status.CANCELLED);
    c.close();
    const settled = await waitFor('the server to stop sending', async () => {
      const a = await stats();
      await new Promise((r) => setTimeout(r, 100));
      return a === (await stats()) ? a : 0;
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await stats(), settled, 'no orders are sent after the cancel');
    await createStillWorks();
  });

  test('POST /grpc/drop cuts every SubscribeOrders stream at once (UNAVAILABLE); one opened again with after_seq goes on', async () => {
    const c = orders();
    const streams = [0, 1, 2].map(() => {
      const call: grpc.ClientReadableStream<Order> = c.SubscribeOrders({ count: 1000, intervalMs: 20 });
      const s = { last: 0, err: null as grpc.ServiceError | null, done: Promise.resolve() };
      call.on('data', (o: Order) => (s.last = o.seq));
      s.done = new Promise((resolve) =>
        call.on('error', (e: grpc.ServiceError) => {
          s.err = e;
          resolve();
        }),
      );
      return s;
    });
    await waitFor('every stream to deliver two orders', () => streams.every((s) => s.last >= 2));
    const res = await fetch(`${suite.servers.httpUrl}/grpc/drop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { dropped: 3 });
    await Promise.all(streams.map((s) => s.done));
    for (const s of streams) assertStatus(s.err, grpc.status.UNAVAILABLE, /cut by the server \(POST \/grpc\/drop\)/);
    const last = streams[0]!.last;
    const resumed = await collect<Order>(c.SubscribeOrders({ count: last + 3, intervalMs: 5, afterSeq: last }), () =>
      c.close(),
    );
    assert.equal(resumed.err, null);
    assert.deepEqual(
      resumed.msgs.map((o) => o.seq),
      [last + 1, last + 2, last + 3],
      'the resumed stream goes on after the last order read',
    );
    const again = await fetch(`${suite.servers.httpUrl}/grpc/drop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.deepEqual(await again.json(), { dropped: 0 }, 'ended streams are not cut again');
    await createStillWorks();
  });
});
