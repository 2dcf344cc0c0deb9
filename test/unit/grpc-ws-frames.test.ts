// The gRPC-over-WebSocket wire format (contracts/grpc-ws-frames.ts), byte by byte: what the
// bridge, the k6 client and a third-party client must agree on.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FLAG_DATA, FLAG_HALF_CLOSE, FrameError, Status, decodeFrame, decodeTrailer, encodeFrame, encodeHeader, encodeTrailer, parseHeader, statusForClose, statusName,
} from '../../contracts/grpc-ws-frames.ts';

describe('grpc-ws framing', () => {
  test('a frame is flag, 4-byte big-endian length, body', () => {
    assert.deepEqual([...encodeFrame(FLAG_DATA, new Uint8Array([8, 1]))], [0, 0, 0, 0, 2, 8, 1]);
    assert.deepEqual([...encodeFrame(FLAG_HALF_CLOSE)], [2, 0, 0, 0, 0]);
    const big = encodeFrame(FLAG_DATA, new Uint8Array(300));
    assert.deepEqual([...big.subarray(0, 5)], [0, 0, 0, 1, 44]);
    const back = decodeFrame(big, 1000);
    assert.equal(back.flag, 0);
    assert.equal(back.body.length, 300);
  });

  test('bad frames name the problem, with the status and close code the bridge answers', () => {
    const refused = (bytes: number[], max = 100) => {
      try {
        decodeFrame(new Uint8Array(bytes), max);
      } catch (err) {
        assert.ok(err instanceof FrameError);
        return { status: err.status, close: err.closeCode, message: err.message };
      }
      assert.fail('accepted');
    };
    assert.deepEqual(refused([0, 0, 0]), { status: Status.INVALID_ARGUMENT, close: 1007, message: 'truncated frame: 3 bytes, a frame prefix alone is 5' });
    assert.deepEqual(refused([0, 0, 0, 0, 3, 1]), { status: Status.INVALID_ARGUMENT, close: 1007, message: 'truncated frame: its prefix says 3 bytes, 1 follow' });
    assert.equal(refused([0, 0, 0, 0, 0, 1]).close, 1007);
    assert.deepEqual(refused([0, 0, 0, 0, 101]), { status: Status.RESOURCE_EXHAUSTED, close: 1009, message: 'frame of 101 bytes exceeds the maximum message size 100' });
  });

  test('the header names the method and carries metadata lines', () => {
    const text = encodeHeader('rtbench.echo.v1.EchoService/Echo', { 'x-user': 'alice' });
    assert.equal(text, '/rtbench.echo.v1.EchoService/Echo\r\nx-user: alice\r\n');
    assert.deepEqual(parseHeader(text), { path: '/rtbench.echo.v1.EchoService/Echo', metadata: [['x-user', 'alice']] });
    assert.deepEqual(parseHeader('/a.B/C'), { path: '/a.B/C', metadata: [] });
    assert.throws(() => parseHeader('a.B/C'), /header must start with the method path/);
    assert.throws(() => parseHeader('/a.B/C\r\nno colon'), /is not 'name: value'/);
  });

  test('the trailer carries grpc-status and a percent-encoded grpc-message', () => {
    const frame = encodeTrailer(3, 'bad 100% – naïve\nline');
    assert.equal(frame[0], 0x80);
    const text = Buffer.from(frame.subarray(5)).toString('latin1');
    assert.equal(text, 'grpc-status: 3\r\ngrpc-message: bad 100%25 %E2%80%93 na%C3%AFve%0Aline\r\n');
    assert.deepEqual(decodeTrailer(frame.subarray(5)), { code: 3, message: 'bad 100% – naïve\nline' });
    assert.deepEqual(decodeTrailer(new Uint8Array(0)), { code: Status.UNKNOWN, message: 'trailer without grpc-status' });
  });

  test('status names are k6\'s; a close without a trailer maps to a status', () => {
    assert.equal(statusName(0), 'OK');
    assert.equal(statusName(8), 'ResourceExhausted');
    assert.equal(statusForClose(1009), Status.RESOURCE_EXHAUSTED);
    assert.equal(statusForClose(1007), Status.INVALID_ARGUMENT);
    assert.equal(statusForClose(1001), Status.UNAVAILABLE);
    assert.equal(statusForClose(1006), Status.UNKNOWN);
  });
});
