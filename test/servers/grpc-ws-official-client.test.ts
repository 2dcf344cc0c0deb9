// The official `@improbable-eng/grpc-web` client (npm) with its WebsocketTransport, in Node with
// `ws` as the WebSocket, against the real bridge: unary (grpc.unary and grpc.client),
// server-streaming (grpc.invoke), client-streaming and bidi calls complete, and their responses
// and statuses equal the same calls made directly with @grpc/grpc-js.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { suiteServers } from '../helpers.ts';
import { ECHO, ORDERS, direct } from '../grpc-direct.ts';
import { officialCall, officialInvoke, officialUnary, pingPong, type Outcome } from '../grpcweb-client.ts';

type Def = protoLoader.MethodDefinition<object, object>;

let host: string;
const suite = suiteServers(
  { servers: ['--only', 'grpc,grpc-ws'] },
  {
    setup: ({ servers }) => {
      host = `${servers.httpUrl}/grpc-ws`;
    },
  },
);

const encode = (def: Def, message: object) => def.requestSerialize(message);
/** Decoded responses with the fields that differ from call to call (ids, server clocks) blanked. */
const comparable = (def: Def, bodies: Buffer[]) =>
  bodies.map((b) => {
    const m = def.responseDeserialize(b) as Record<string, unknown>;
    return { ...m, ...('id' in m ? { id: '*' } : {}), ...('serverSendMs' in m ? { serverSendMs: '*' } : {}) };
  });

/** The official client's outcome equals direct gRPC's: same status and message, same responses. */
async function sameAsDirect(def: Def, requests: Buffer[], official: Promise<Outcome>) {
  const [viaBridge, straight] = await Promise.all([official, direct(suite.servers, def, requests)]);
  assert.equal(viaBridge.code, straight.status.code, `status: bridge says ${viaBridge.code} ${viaBridge.message}`);
  assert.equal(viaBridge.message, straight.status.details);
  assert.ok(viaBridge.responses.length > 0 || straight.responses.length === 0);
  assert.deepEqual(comparable(def, viaBridge.responses), comparable(def, straight.responses));
  return viaBridge.responses.map((b) => def.responseDeserialize(b) as Record<string, unknown>);
}

const orderRequest = (seq: number, over: Record<string, unknown> = {}) =>
  encode(ORDERS.CreateOrder!, {
    userId: 'u1',
    items: [{ productId: 'sku-1', quantity: 2, price: 4.25 }],
    seq,
    note: Buffer.from('note'),
    ...over,
  });

describe('@improbable-eng/grpc-web WebsocketTransport through the bridge', () => {
  test('unary with grpc.unary: Echo byte for byte, CreateOrder the same order', async () => {
    const echo = encode(ECHO.Echo!, { seq: 1, payload: Buffer.from('hi'), clientSendMs: 12.5 });
    const viaBridge = await officialUnary(host, ECHO.Echo!.path, echo, { 'x-rtbench': 'official' });
    const straight = await direct(suite.servers, ECHO.Echo!, [echo]);
    assert.equal(viaBridge.code, grpc.status.OK, viaBridge.message);
    assert.deepEqual(viaBridge.responses, straight.responses, 'byte for byte');
    const [order] = await sameAsDirect(
      ORDERS.CreateOrder!,
      [orderRequest(7)],
      officialUnary(host, ORDERS.CreateOrder!.path, orderRequest(7)),
    );
    assert.equal(order!.seq, 7);
    assert.equal(order!.total, 8.5);
  });

  test('unary with grpc.client, and an error status relayed as direct gRPC gives it', async () => {
    const kind = { requestStream: false, responseStream: false };
    await sameAsDirect(
      ORDERS.CreateOrder!,
      [orderRequest(3)],
      officialCall(host, ORDERS.CreateOrder!.path, kind, [orderRequest(3)]),
    );
    const bad = orderRequest(4, { userId: '' });
    const out = await officialCall(host, ORDERS.CreateOrder!.path, kind, [bad]);
    assert.equal(out.code, grpc.status.INVALID_ARGUMENT);
    await sameAsDirect(ORDERS.CreateOrder!, [bad], Promise.resolve(out));
  });

  test('server streaming with grpc.invoke: SubscribeOrders, every order in order', async () => {
    const req = encode(ORDERS.SubscribeOrders!, { count: 50, intervalMs: 0, noteBytes: 100, statuses: ['SHIPPED'] });
    const orders = await sameAsDirect(
      ORDERS.SubscribeOrders!,
      [req],
      officialInvoke(host, ORDERS.SubscribeOrders!.path, req),
    );
    assert.deepEqual(
      orders.map((o) => o.seq),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
  });

  test('client streaming: BulkCreateOrders counts the same orders and gaps', async () => {
    const reqs = [1, 2, 4, 7].map((seq) => orderRequest(seq));
    const [bulk] = await sameAsDirect(
      ORDERS.BulkCreateOrders!,
      reqs,
      officialCall(host, ORDERS.BulkCreateOrders!.path, { requestStream: true, responseStream: false }, reqs),
    );
    assert.deepEqual(bulk, { created: 4, total: 34, seqsMissing: [3, 5, 6] });
  });

  test('bidi: ProcessOrders and EchoStream answer every message, in order; ping-pong completes round trips', async () => {
    const bidi = { requestStream: true, responseStream: true };
    const actions = [1, 2, 3, 4, 5].map((seq) =>
      encode(ORDERS.ProcessOrders!, {
        orderId: `o-${seq}`,
        action: seq === 5 ? 'cancel' : 'process',
        seq,
        payload: Buffer.from('p'),
      }),
    );
    const results = await sameAsDirect(
      ORDERS.ProcessOrders!,
      actions,
      officialCall(host, ORDERS.ProcessOrders!.path, bidi, actions),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ['PROCESSING', 'PROCESSING', 'PROCESSING', 'PROCESSING', 'CANCELLED'],
    );
    const echoes = [1, 2, 3].map((seq) => encode(ECHO.EchoStream!, { seq, payload: Buffer.alloc(1000, seq) }));
    const out = await officialCall(host, ECHO.EchoStream!.path, bidi, echoes);
    assert.deepEqual(out.responses, (await direct(suite.servers, ECHO.EchoStream!, echoes)).responses, 'byte for byte');
    const pp = await pingPong(host, ECHO.EchoStream!.path, echoes[0]!, 300);
    assert.equal(pp.code, grpc.status.OK, pp.message);
    assert.ok(pp.roundTrips > 10, `${pp.roundTrips} round trips in 300 ms`);
  });

  test('an unknown method ends Unimplemented', async () => {
    const out = await officialCall(
      host,
      '/rtbench.echo.v1.EchoService/Shout',
      { requestStream: false, responseStream: false },
      [Buffer.from([8, 1])],
    );
    assert.equal(out.code, grpc.status.UNIMPLEMENTED);
    assert.equal(out.message, 'unknown method /rtbench.echo.v1.EchoService/Shout');
  });
});
