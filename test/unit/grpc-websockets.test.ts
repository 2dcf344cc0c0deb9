// improbable-eng's grpc-websockets protocol (contracts/grpc-websockets.ts), byte by byte: what
// the bridge, the k6 client and `@improbable-eng/grpc-web`'s WebsocketTransport agree on.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FINISH_SEND,
  FLAG_DATA,
  FrameError,
  FrameReader,
  Status,
  callUrl,
  clientData,
  decodeTrailer,
  encodeFrame,
  encodeHeaderLines,
  encodeHeadersFrame,
  encodeTrailer,
  methodOfPath,
  parseGrpcTimeout,
  parseHeaderLines,
  readClientMessage,
  statusForClose,
  statusName,
} from '../../contracts/grpc-websockets.ts';

const refused = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FrameError, String(err));
    return { status: err.status, close: err.closeCode, message: err.message };
  }
  assert.fail('accepted');
};

describe('grpc-websockets', () => {
  test('the method is in the URL path under /grpc-ws', () => {
    assert.equal(
      callUrl('ws://127.0.0.1:8080', 'rtbench.echo.v1.EchoService/Echo'),
      'ws://127.0.0.1:8080/grpc-ws/rtbench.echo.v1.EchoService/Echo',
    );
    assert.equal(methodOfPath('/grpc-ws/rtbench.echo.v1.EchoService/Echo'), '/rtbench.echo.v1.EchoService/Echo');
    assert.equal(methodOfPath('/grpc-ws/Echo'), null);
    assert.equal(methodOfPath('/other/a.B/C'), null);
    assert.equal(methodOfPath('/grpc-ws/a.B/C/D'), null);
  });

  test('headers are name: value lines, lower-cased when read; values of one name joined with ", "', () => {
    const bytes = encodeHeaderLines([
      ['content-type', 'application/grpc-web+proto'],
      ['X-Multi', ['a', 'b']],
    ]);
    assert.equal(
      Buffer.from(bytes).toString('latin1'),
      'content-type: application/grpc-web+proto\r\nX-Multi: a, b\r\n',
    );
    assert.deepEqual(parseHeaderLines(bytes), [
      ['content-type', 'application/grpc-web+proto'],
      ['x-multi', 'a, b'],
    ]);
    assert.deepEqual(parseHeaderLines(new Uint8Array(0)), []);
    assert.throws(() => encodeHeaderLines([['x', 'caf\u00e9']]), /not printable ASCII/);
    assert.deepEqual(
      refused(() => parseHeaderLines(Buffer.from('no colon\r\n'))),
      { status: Status.INVALID_ARGUMENT, close: 1007, message: `header line "no colon" is not 'name: value'` },
    );
    assert.equal(refused(() => parseHeaderLines(new Uint8Array(16 * 1024 + 1))).status, Status.RESOURCE_EXHAUSTED);
  });

  test('grpc-timeout in milliseconds', () => {
    assert.equal(parseGrpcTimeout('5S'), 5000);
    assert.equal(parseGrpcTimeout('250m'), 250);
    assert.equal(parseGrpcTimeout('1H'), 3_600_000);
    assert.equal(parseGrpcTimeout('1500u'), 1.5);
    assert.match(refused(() => parseGrpcTimeout('123456789S')).message, /1-8 digits and a unit/);
    assert.equal(refused(() => parseGrpcTimeout('5s')).status, Status.INVALID_ARGUMENT);
  });

  test('client messages: 0x00 + frame bytes, the finish-send is the single byte 0x01', () => {
    const frame = encodeFrame(FLAG_DATA, new Uint8Array([8, 1]));
    assert.deepEqual([...frame], [0, 0, 0, 0, 2, 8, 1]);
    assert.deepEqual([...clientData(frame)], [0, 0, 0, 0, 0, 2, 8, 1]);
    assert.deepEqual([...FINISH_SEND], [1]);
    assert.equal(readClientMessage(FINISH_SEND), null);
    assert.deepEqual([...readClientMessage(clientData(frame))!], [...frame]);
    assert.match(refused(() => readClientMessage(new Uint8Array([1, 0]))).message, /message starts with 0x01/);
    assert.match(refused(() => readClientMessage(new Uint8Array(0))).message, /empty message/);
  });

  test('frames are read as a stream, whatever the chunk boundaries; a too-large prefix is refused before its body', () => {
    const a = encodeFrame(FLAG_DATA, new Uint8Array(300).fill(1));
    const b = encodeHeadersFrame([['x', 'y']]);
    const all = new Uint8Array([...a, ...b]);
    for (const cuts of [[all.length], [1, 4, 5, 299, all.length], [3, 305, all.length]]) {
      const reader = new FrameReader(1000);
      const frames = [];
      let from = 0;
      for (const to of cuts) {
        frames.push(...reader.push(all.subarray(from, to)).map((f) => ({ flag: f.flag, body: [...f.body] })));
        from = to;
      }
      assert.equal(reader.pending, 0);
      assert.deepEqual(
        frames,
        [
          { flag: 0, body: [...a.subarray(5)] },
          { flag: 0x80, body: [...b.subarray(5)] },
        ],
        `cut at ${cuts}`,
      );
    }
    const reader = new FrameReader(100);
    assert.deepEqual(reader.push(new Uint8Array([0, 0, 0])), []);
    assert.equal(reader.pending, 3);
    assert.deepEqual(
      refused(() => reader.push(new Uint8Array([0, 101]))),
      {
        status: Status.RESOURCE_EXHAUSTED,
        close: 1009,
        message: 'frame of 101 bytes exceeds the maximum message size 100',
      },
    );
  });

  test('the trailer carries grpc-status and a percent-encoded grpc-message; a headers frame has no status', () => {
    const frame = encodeTrailer(3, 'bad 100% – naïve\nline', [['x-extra', '1']]);
    assert.equal(frame[0], 0x80);
    const text = Buffer.from(frame.subarray(5)).toString('latin1');
    assert.equal(text, 'grpc-status: 3\r\ngrpc-message: bad 100%25 %E2%80%93 na%C3%AFve%0Aline\r\nx-extra: 1\r\n');
    assert.deepEqual(decodeTrailer(frame.subarray(5)), { code: 3, message: 'bad 100% – naïve\nline' });
    assert.equal(decodeTrailer(encodeHeadersFrame([['content-type', 'application/grpc-web+proto']]).subarray(5)), null);
    assert.deepEqual(decodeTrailer(Buffer.from('grpc-status: x\r\n')), { code: Status.UNKNOWN, message: '' });
  });

  test("status names are k6's; a close without a trailer maps to a status", () => {
    assert.equal(statusName(0), 'OK');
    assert.equal(statusName(8), 'ResourceExhausted');
    assert.equal(statusForClose(1009), Status.RESOURCE_EXHAUSTED);
    assert.equal(statusForClose(1007), Status.INVALID_ARGUMENT);
    assert.equal(statusForClose(1001), Status.UNAVAILABLE);
    assert.equal(statusForClose(1006), Status.UNKNOWN);
  });
});
