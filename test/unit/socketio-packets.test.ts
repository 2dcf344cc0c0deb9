// The k6 Socket.IO client's packet layer (scripts/lib/transport/socketio-packets.ts): Engine.IO v4 and
// Socket.IO v5 encoding and decoding, binary attachments, and a clear error for every malformed
// packet. The same module talks to the real server in echo-servers.test.ts and under k6.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PacketError,
  SocketDecoder,
  SocketType,
  decodeEngine,
  decodeSocket,
  encodeEngine,
  encodeSocket,
  engineUrl,
  parseHandshake,
  socketFrames,
  type SocketPacket,
} from '../../scripts/lib/transport/socketio-packets.ts';

const bytes = (...b: number[]) => new Uint8Array(b).buffer;
const asArray = (v: unknown) => [...new Uint8Array(v as ArrayBuffer)];

describe('Engine.IO v4', () => {
  test('encodes and decodes every packet type by its digit', () => {
    assert.equal(encodeEngine('ping'), '2');
    assert.equal(encodeEngine('pong', 'probe'), '3probe');
    assert.equal(encodeEngine('message', '2["a"]'), '42["a"]');
    assert.deepEqual(decodeEngine('0{"sid":"x"}'), { type: 'open', data: '{"sid":"x"}' });
    assert.deepEqual(decodeEngine('1'), { type: 'close', data: '' });
    assert.deepEqual(decodeEngine('6'), { type: 'noop', data: '' });
  });

  test('anything else is not an Engine.IO packet', () => {
    for (const frame of ['', 'hello', '7', '{"a":1}']) {
      assert.throws(
        () => decodeEngine(frame),
        (e: Error) => e instanceof PacketError && /not an Engine.IO packet/.test(e.message),
        frame,
      );
    }
  });

  test('reads the handshake and rejects an incomplete one', () => {
    const h = parseHandshake(
      '{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}',
    );
    assert.deepEqual(h, { sid: 'abc', upgrades: [], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 });
    assert.throws(() => parseHandshake('{"sid":"abc"}'), /lacks sid, pingInterval or pingTimeout/);
    assert.throws(() => parseHandshake('{nope'), /open packet is not JSON/);
  });

  test("turns the official client's server origin into the WebSocket transport address", () => {
    assert.equal(engineUrl('http://127.0.0.1:8080'), 'ws://127.0.0.1:8080/socket.io/?EIO=4&transport=websocket');
    assert.equal(engineUrl('https://h/'), 'wss://h/socket.io/?EIO=4&transport=websocket');
    assert.equal(engineUrl('ws://h:1', '/io/'), 'ws://h:1/io/?EIO=4&transport=websocket');
    for (const bad of ['127.0.0.1:8080', 'http://h/socket.io/', 'ftp://h'])
      assert.throws(() => engineUrl(bad), /not an http\(s\) or ws\(s\) origin/, bad);
  });
});

describe('Socket.IO v5 encoding', () => {
  const text = (p: SocketPacket) => encodeSocket(p).text;

  test('CONNECT, DISCONNECT, EVENT and ACK, with and without namespace and ack id', () => {
    assert.equal(text({ type: SocketType.CONNECT, nsp: '/' }), '0');
    assert.equal(text({ type: SocketType.CONNECT, nsp: '/admin', data: { token: 't' } }), '0/admin,{"token":"t"}');
    assert.equal(text({ type: SocketType.DISCONNECT, nsp: '/' }), '1');
    assert.equal(text({ type: SocketType.EVENT, nsp: '/', data: ['echo', 'hi'] }), '2["echo","hi"]');
    assert.equal(text({ type: SocketType.EVENT, nsp: '/', id: 12, data: ['echo', 'hi'] }), '212["echo","hi"]');
    assert.equal(
      text({ type: SocketType.EVENT, nsp: '/admin', id: 0, data: ['echo', { a: [1] }] }),
      '2/admin,0["echo",{"a":[1]}]',
    );
    assert.equal(text({ type: SocketType.ACK, nsp: '/', id: 3, data: ['hi'] }), '33["hi"]');
  });

  test('binary values become placeholders and attachments, turning EVENT/ACK into BINARY_*', () => {
    const a = bytes(1, 2, 3);
    const enc = encodeSocket({ type: SocketType.EVENT, nsp: '/', id: 1, data: ['echo', a, { nested: [bytes(9)] }] });
    assert.equal(enc.text, '52-1["echo",{"_placeholder":true,"num":0},{"nested":[{"_placeholder":true,"num":1}]}]');
    assert.deepEqual(enc.attachments.map(asArray), [[1, 2, 3], [9]]);
    const ack = encodeSocket({ type: SocketType.ACK, nsp: '/chat', id: 7, data: [a] });
    assert.equal(ack.text, '61-/chat,7[{"_placeholder":true,"num":0}]');
  });

  test('a typed-array view contributes exactly its own bytes', () => {
    const view = new Uint8Array([0, 1, 2, 3, 4, 5]).subarray(2, 4);
    assert.deepEqual(encodeSocket({ type: SocketType.EVENT, nsp: '/', data: ['x', view] }).attachments.map(asArray), [
      [2, 3],
    ]);
  });

  test('only events and acks may carry binary', () => {
    assert.throws(
      () => encodeSocket({ type: SocketType.CONNECT, nsp: '/', data: { key: bytes(1) } }),
      /cannot carry binary/,
    );
  });

  test('frames: the packet as an Engine.IO message, then its attachments', () => {
    const frames = socketFrames({ type: SocketType.EVENT, nsp: '/', id: 0, data: ['echo', bytes(7)] });
    assert.equal(frames[0], '451-0["echo",{"_placeholder":true,"num":0}]');
    assert.deepEqual(asArray(frames[1]), [7]);
    assert.deepEqual(socketFrames({ type: SocketType.CONNECT, nsp: '/' }), ['40']);
  });
});

describe('Socket.IO v5 decoding', () => {
  test('reads what the server sends', () => {
    assert.deepEqual(decodeSocket('0{"sid":"abc"}'), {
      packet: { type: 0, nsp: '/', data: { sid: 'abc' } },
      attachments: 0,
    });
    assert.deepEqual(decodeSocket('4/nope,{"message":"Invalid namespace"}'), {
      packet: { type: 4, nsp: '/nope', data: { message: 'Invalid namespace' } },
      attachments: 0,
    });
    assert.deepEqual(decodeSocket('3125["hi",2]'), {
      packet: { type: 3, nsp: '/', id: 125, data: ['hi', 2] },
      attachments: 0,
    });
    assert.deepEqual(decodeSocket('2/chat,["news",null]'), {
      packet: { type: 2, nsp: '/chat', data: ['news', null] },
      attachments: 0,
    });
    assert.deepEqual(decodeSocket('1/chat,'), { packet: { type: 1, nsp: '/chat' }, attachments: 0 });
    assert.deepEqual(decodeSocket('62-/chat,4[{"_placeholder":true,"num":0}]').attachments, 2);
  });

  test('what it encodes decodes to the same packet', () => {
    const packets: SocketPacket[] = [
      { type: SocketType.CONNECT, nsp: '/admin', data: { token: 'x' } },
      { type: SocketType.EVENT, nsp: '/', id: 99, data: ['echo', 'h,i', 1, { a: null }] },
      { type: SocketType.ACK, nsp: '/x', id: 0, data: [] },
    ];
    for (const p of packets) assert.deepEqual(decodeSocket(encodeSocket(p).text).packet, p);
  });

  const malformed: Array<[string, string, RegExp]> = [
    ['an unknown type', '9["x"]', /unknown Socket.IO packet type/],
    ['garbage', 'hello', /unknown Socket.IO packet type/],
    ['an empty packet', '', /unknown Socket.IO packet type/],
    ['bad JSON', '2["echo",', /payload is not JSON/],
    ['an event that is not an array', '2{"a":1}', /EVENT data must be an array starting with the event name/],
    ['an event without a name', '2[1,2]', /EVENT data must be an array/],
    ['an ack without an id', '3["hi"]', /ACK without an id/],
    ['a binary event without its attachment count', '5["echo"]', /without an attachment count/],
    ['DISCONNECT with data', '1["x"]', /DISCONNECT carries no data/],
    ['CONNECT with an array', '0[1]', /CONNECT data must be an object/],
  ];
  for (const [what, text, message] of malformed) {
    test(`${what} is a PacketError naming the problem`, () => {
      assert.throws(
        () => decodeSocket(text),
        (e: Error) => e instanceof PacketError && message.test(e.message),
      );
    });
  }
});

describe('SocketDecoder (attachments)', () => {
  test('holds a binary packet until its attachments arrive, then fills the placeholders', () => {
    const d = new SocketDecoder();
    assert.equal(d.text('62-5[{"_placeholder":true,"num":1},"t",{"_placeholder":true,"num":0}]'), null);
    assert.equal(d.binary(bytes(1)), null);
    const packet = d.binary(bytes(2, 2));
    assert.equal(packet?.type, SocketType.BINARY_ACK);
    assert.equal(packet?.id, 5);
    const [first, middle, last] = packet!.data as unknown[];
    assert.deepEqual([asArray(first), middle, asArray(last)], [[2, 2], 't', [1]]);
    assert.deepEqual(
      d.text('2["next"]'),
      { type: SocketType.EVENT, nsp: '/', data: ['next'] },
      'ready for the next packet',
    );
  });

  test('what encodeSocket splits, the decoder puts back together', () => {
    const sent: SocketPacket = { type: SocketType.EVENT, nsp: '/', id: 1, data: ['echo', bytes(4, 5, 6)] };
    const { text, attachments } = encodeSocket(sent);
    const d = new SocketDecoder();
    assert.equal(d.text(text), null);
    const got = d.binary(attachments[0]!);
    assert.equal(got?.type, SocketType.BINARY_EVENT);
    assert.deepEqual(asArray((got!.data as unknown[])[1]), [4, 5, 6]);
  });

  test('out-of-order frames are errors', () => {
    assert.throws(() => new SocketDecoder().binary(bytes(1)), /binary frame of 1 bytes without a binary packet/);
    const d = new SocketDecoder();
    d.text('51-["echo",{"_placeholder":true,"num":0}]');
    assert.throws(() => d.text('2["x"]'), /1 attachment\(s\) are still due/);
    const bad = new SocketDecoder();
    bad.text('51-["echo",{"_placeholder":true,"num":3}]');
    assert.throws(() => bad.binary(bytes(1)), /placeholder 3 has no attachment/);
  });
});
