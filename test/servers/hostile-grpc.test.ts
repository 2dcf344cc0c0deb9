// Hostile input for every gRPC method against the real server process: protobuf that is wrong on
// the wire (field 0, wire types 3/4/6/7, 11-byte varints, lengths past the end, a known field
// with the wrong wire type, invalid UTF-8), the same faults after a valid prefix, semantically bad
// requests (non-finite totals among them) and oversized messages. Each gets INVALID_ARGUMENT or
// RESOURCE_EXHAUSTED; after each method's batch the process is alive, every protocol still
// serves a good request and RSS is under the bound.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { startServers, type Servers } from '../helpers.ts';
import {
  assertHealthy,
  grpcClient,
  grpcRaw,
  inBatches,
  malformedWire,
  pbBytes,
  pbDouble,
  pbVarint,
  wrongWireTypes,
} from './hostile-lib.ts';

const MAX = 64 * 1024;
const RSS_MIB = 400;
const { INVALID_ARGUMENT, RESOURCE_EXHAUSTED } = grpc.status;
let s: Servers;
let client: grpc.Client;
before(async () => {
  s = await startServers(['--max-message-bytes', String(MAX)]);
  client = grpcClient(s);
});
after(async () => {
  client.close();
  assert.equal(await s.stop(), 0, 'exit 0 on SIGTERM');
});

type Kind = 'unary' | 'server' | 'client' | 'bidi';
interface Method {
  path: string;
  kind: Kind;
  /** field number → wire type, for the known fields of the request type */
  fields: Array<[number, number]>;
  /** a valid request */
  valid: Buffer;
  /** semantically bad requests that decode fine */
  semantic: Array<[string, Buffer]>;
}

const item = (q: number, price: number) =>
  pbBytes(2, Buffer.concat([pbBytes(1, 'sku'), pbVarint(2, q), pbDouble(3, price)]));
const order = (...parts: Buffer[]) => Buffer.concat([pbBytes(1, 'user'), ...parts]);
const badUtf8 = Buffer.from([0xc3, 0x28]);

const METHODS: Method[] = [
  {
    path: '/rtbench.image.v1.ImageService/Upload',
    kind: 'unary',
    fields: [
      [1, 0],
      [2, 2],
      [3, 0],
      [4, 2],
    ],
    valid: Buffer.concat([
      pbVarint(1, 1),
      pbBytes(2, 'x'),
      pbVarint(3, 1),
      pbBytes(4, '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'),
    ]),
    semantic: [
      ['no sha256', pbVarint(1, 1)],
      ['sha256 short', pbBytes(4, 'ab')],
      ['sha256 upper case', pbBytes(4, 'A'.repeat(64))],
      ['sha256 of 200 characters', pbBytes(4, 'a'.repeat(200))],
      ['sha256 not UTF-8', pbBytes(4, badUtf8)],
    ],
  },
  {
    path: '/rtbench.orders.v1.OrderService/CreateOrder',
    kind: 'unary',
    fields: [
      [1, 2],
      [3, 0],
      [4, 2],
    ],
    valid: order(item(1, 2)),
    semantic: [
      ['empty user', pbBytes(1, '')],
      ['blank user', pbBytes(1, '   ')],
      ['quantity 0', order(item(0, 1))],
      ['negative quantity', order(item(-1, 1))],
      ['negative price', order(item(1, -1))],
      ['NaN price', order(item(1, NaN))],
      ['infinite price', order(item(1, Infinity))],
      ['a total that overflows to Infinity', order(item(2147483647, 1e308), item(2147483647, 1e308))],
      ['user not UTF-8', pbBytes(1, badUtf8)],
      ['a line item with field 0', order(pbBytes(2, Buffer.from([0, 1])))],
      ['a line item with wire type 7', order(pbBytes(2, Buffer.from([0x0f])))],
      ['a line item with a wrong wire type', order(pbBytes(2, pbBytes(2, 'x')))],
      ['a line item cut short', order(pbBytes(2, Buffer.from([0x0a, 0x05])))],
    ],
  },
  {
    path: '/rtbench.orders.v1.OrderService/SubscribeOrders',
    kind: 'server',
    fields: [
      [2, 0],
      [3, 0],
      [4, 0],
    ],
    valid: pbVarint(2, 2),
    semantic: [
      ['count 0', pbVarint(2, 0)],
      ['count over the cap', pbVarint(2, 100_001)],
      ['interval over the cap', Buffer.concat([pbVarint(2, 1), pbVarint(3, 60_001)])],
      ['note over the maximum message', Buffer.concat([pbVarint(2, 1), pbVarint(4, MAX)])],
      ['an unknown status', Buffer.concat([pbVarint(1, 99), pbVarint(2, 1)])],
      ['count 2^32-1', pbVarint(2, 2 ** 32 - 1)],
    ],
  },
  {
    path: '/rtbench.orders.v1.OrderService/BulkCreateOrders',
    kind: 'client',
    fields: [
      [1, 2],
      [3, 0],
      [4, 2],
    ],
    valid: order(item(1, 2), pbVarint(3, 1)),
    semantic: [
      ['empty user', pbBytes(1, '')],
      ['infinite price', order(item(1, Infinity))],
      ['quantity 0', order(item(0, 1))],
      ['a total that overflows', order(item(2147483647, 1e308), item(2147483647, 1e308))],
    ],
  },
  {
    path: '/rtbench.orders.v1.OrderService/ProcessOrders',
    kind: 'bidi',
    fields: [
      [1, 2],
      [2, 2],
      [3, 0],
      [4, 2],
    ],
    valid: Buffer.concat([pbBytes(1, 'ord-1'), pbBytes(2, 'process'), pbVarint(3, 1)]),
    semantic: [
      ['empty order id', pbBytes(2, 'process')],
      ['unknown action', Buffer.concat([pbBytes(1, 'o'), pbBytes(2, 'explode')])],
      ['action not UTF-8', Buffer.concat([pbBytes(1, 'o'), pbBytes(2, badUtf8)])],
    ],
  },
  {
    path: '/rtbench.echo.v1.EchoService/Echo',
    kind: 'unary',
    fields: [
      [1, 0],
      [2, 2],
      [3, 1],
    ],
    valid: pbVarint(1, 1),
    semantic: [],
  },
  {
    path: '/rtbench.echo.v1.EchoService/EchoStream',
    kind: 'bidi',
    fields: [
      [1, 0],
      [2, 2],
      [3, 1],
    ],
    valid: pbVarint(1, 1),
    semantic: [],
  },
];

for (const m of METHODS) {
  describe(m.path, () => {
    test('malformed, semantically bad and oversized requests: INVALID_ARGUMENT / RESOURCE_EXHAUSTED; then every protocol still serves', async () => {
      const wire = malformedWire();
      const cases: Array<[string, Buffer, number]> = [
        ...wire.map(([what, b]): [string, Buffer, number] => [what, b, INVALID_ARGUMENT]),
        ...wire.map(([what, b]): [string, Buffer, number] => [
          `${what}, after a valid request`,
          Buffer.concat([m.valid, b]),
          INVALID_ARGUMENT,
        ]),
        ...wrongWireTypes(m.fields).map(([what, b]): [string, Buffer, number] => [what, b, INVALID_ARGUMENT]),
        ...m.semantic.map(([what, b]): [string, Buffer, number] => [what, b, INVALID_ARGUMENT]),
        ['a message over the maximum', Buffer.concat([pbBytes(15, Buffer.alloc(MAX + 16))]), RESOURCE_EXHAUSTED],
      ];
      await inBatches(cases, 8, async ([what, bytes, code]) => {
        // On request streams the bad message follows a good one: the call must still end with the error.
        const requests = m.kind === 'client' || m.kind === 'bidi' ? [m.valid, bytes] : [bytes];
        const out = await grpcRaw(client, m.path, m.kind, requests);
        assert.equal(
          out.code,
          code,
          `${what}: expected ${grpc.status[code]}, got ${grpc.status[out.code]} ${out.details}`,
        );
      });
      const ok = await grpcRaw(client, m.path, m.kind, [m.valid]);
      assert.equal(ok.code, 0, `a valid request still succeeds: ${ok.details}`);
      assert.ok(cases.length >= 50, `at least 50 distinct inputs (${cases.length})`);
      await assertHealthy(s, { rssMiB: RSS_MIB });
    });
  });
}

describe('reflection', () => {
  test('works, and counts: calls with bad protobuf never reach a handler', async () => {
    const res = await fetch(`${s.httpUrl}/stats`);
    const st = (await res.json()) as { protocols: { grpc: { errors: number } }; limits: { grpcMaxStreams: number } };
    assert.ok(st.protocols.grpc.errors >= 300, `gRPC errors counted: ${st.protocols.grpc.errors}`);
    assert.equal(st.limits.grpcMaxStreams, 16);
  });
});
