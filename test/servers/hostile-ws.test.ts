// Hostile input over WebSocket against the real server process: /image, /echo, /feed, Socket.IO
// and the gRPC-over-WebSocket bridge. Protocol violations at the frame level, then each
// endpoint's own malformed, oversized and out-of-order messages; each gets its specific close
// code (or trailer, or CONNECT_ERROR), and after every batch the process is alive, every protocol
// still serves a good request, and RSS is under the bound. Includes the inputs that used to end
// the process: a close reason over 123 bytes, and a Socket.IO packet nested 6000 deep.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { startServers, type Servers } from '../helpers.ts';
import {
  FLAG_DATA,
  PREFIX_BYTES,
  SUBPROTOCOL,
  Status,
  clientData,
  encodeFrame,
} from '../../contracts/grpc-websockets.ts';
import {
  BRIDGE_FINISH,
  assertHealthy,
  bridgeData,
  bridgeExchange,
  bridgeHeaders,
  bridgeTrailer,
  bridgeUrl,
  closeCodeIn,
  inBatches,
  pbBytes,
  pbVarint,
  portOf,
  rawFrameFaults,
  rawTcp,
  stats,
  upgradeRequest,
  wsExchange,
  wsFrame,
} from './hostile-lib.ts';

const MAX = 64 * 1024;
const RSS_MIB = 400;
let s: Servers;
before(async () => {
  s = await startServers(['--max-message-bytes', String(MAX), '--handshake-ms', '2000']);
});
after(async () => {
  assert.equal(await s.stop(), 0, 'exit 0 on SIGTERM');
});

/** Every frame-level fault on `path` gets its close code. */
async function frameFaults(
  path: string,
  maxPayload: number,
  prefix: Buffer[] = [],
  headers: Record<string, string> = {},
): Promise<number> {
  const faults = rawFrameFaults(maxPayload);
  await inBatches(faults, 8, async ([what, bytes, code]) => {
    const reply = await rawTcp(
      portOf(s),
      Buffer.concat([Buffer.from(upgradeRequest(path, headers), 'latin1'), ...prefix, bytes]),
    );
    assert.equal(reply.status, 101, `${path} ${what}: upgraded`);
    assert.equal(closeCodeIn(reply), code, `${path} ${what}: close ${code}`);
  });
  return faults.length;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('WebSocket /image', () => {
  test('malformed, oversized and out-of-order claims and frames: 1002/1007/1009 with a reason', async () => {
    let n = await frameFaults('/image', MAX);
    const good = Buffer.from('img');
    const claim = (c: Record<string, unknown>) => JSON.stringify({ id: 1, size: 3, sha256: sha(good), ...c });
    const cases: Array<[string, Array<string | Buffer>, number, RegExp?]> = [
      ['not JSON', ['{'], 1007, /not valid JSON/],
      ['empty text', [''], 1007],
      ['a JSON number', ['5'], 1007],
      ['JSON null', ['null'], 1007],
      ['a JSON array', ['[1,2]'], 1007],
      ['a JSON string', ['"x"'], 1007],
      ['JSON true', ['true'], 1007],
      ['id negative', [claim({ id: -1 })], 1007, /id must be/],
      ['id fractional', [claim({ id: 1.5 })], 1007],
      ['id over 32 bits', [claim({ id: 2 ** 32 })], 1007],
      ['id a string', [claim({ id: '1' })], 1007],
      ['id missing', [JSON.stringify({ size: 3, sha256: sha(good) })], 1007],
      ['size negative', [claim({ size: -3 })], 1007, /size must be/],
      ['size fractional', [claim({ size: 2.5 })], 1007],
      ['size a string', [claim({ size: '3' })], 1007],
      ['size over the maximum', [claim({ size: MAX + 1 })], 1009, /exceeds the maximum/],
      ['size 1e300', [claim({ size: 1e300 })], 1009],
      ['sha256 short', [claim({ sha256: 'ab' })], 1007, /sha256 must be/],
      ['sha256 upper case', [claim({ sha256: sha(good).toUpperCase() })], 1007],
      // 200 characters: the reason naming it is over 123 bytes — it used to throw inside the handler and end the process
      ['sha256 of 200 characters', [claim({ sha256: 'a'.repeat(200) })], 1007, /sha256 must be/],
      ['sha256 of 60 emoji', [claim({ sha256: '😀'.repeat(60) })], 1007],
      ['sha256 a number', [claim({ sha256: 5 })], 1007],
      ['a binary frame without a claim', [good], 1007, /binary frame without a claim/],
      ['two claims in a row', [claim({}), claim({})], 1007, /not followed by its binary frame/],
      ['a claim of 60 KB of garbage', ['{"x":"' + 'y'.repeat(60_000) + '"}'], 1007],
      ['a text frame over the maximum', ['z'.repeat(MAX + 1)], 1009],
      ['a binary frame over the maximum', [claim({}), Buffer.alloc(MAX + 1)], 1009],
    ];
    await inBatches(cases, 8, async ([what, frames, code, reason]) => {
      const out = await wsExchange(s.wsUrl('/image'), frames);
      assert.equal(out.code, code, `${what}: close ${code}, got ${out.code} ${out.reason}`);
      assert.ok(Buffer.byteLength(out.reason) <= 123, 'the reason fits a close frame');
      if (reason) assert.match(out.reason, reason, what);
    });
    n += cases.length;
    assert.ok(n >= 50, `at least 50 distinct inputs (${n})`);
    await assertHealthy(s, { rssMiB: RSS_MIB });
  });
});

describe('WebSocket /echo', () => {
  test('frame-level faults, invalid UTF-8 and oversized frames: 1002/1007/1009; anything else comes back unchanged', async () => {
    let n = await frameFaults('/echo', MAX);
    const badUtf8 = [
      [0xff],
      [0xc0, 0x80],
      [0xe0, 0x80, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0x80],
      [0xc3],
      [0xe2, 0x82],
      [0xed, 0xbf, 0xbf],
      [0xfe, 0xfe],
    ];
    await inBatches(badUtf8, 10, async (bytes) => {
      const reply = await rawTcp(
        portOf(s),
        Buffer.concat([Buffer.from(upgradeRequest('/echo'), 'latin1'), wsFrame(0x1, Buffer.from(bytes))]),
      );
      assert.equal(closeCodeIn(reply), 1007, `text frame ${Buffer.from(bytes).toString('hex')}: 1007`);
    });
    n += badUtf8.length;
    const odd: Array<string | Buffer> = [
      '',
      Buffer.alloc(0),
      '\u0000',
      '😀'.repeat(1000),
      Buffer.alloc(MAX, 0xff),
      'x'.repeat(MAX),
      '{"op":"subscribe"}',
      Buffer.from([0x80, 0, 0, 0, 0]),
      '\ufeff',
      ' '.repeat(100),
      '421["echo"]',
      '\r\n\r\n',
    ];
    const out = await wsExchange(s.wsUrl('/echo'), odd, { until: (k) => k >= odd.length });
    assert.equal(out.messages.length, odd.length, 'every odd-but-valid frame is echoed');
    odd.forEach((f, i) => assert.ok(Buffer.from(f as string).equals(out.messages[i]!.data), `frame ${i} unchanged`));
    n += odd.length;
    const st = await stats(s);
    assert.ok(st.protocols.ws!.errors > 0, 'errors counted in /stats');
    assert.ok(n >= 50, `at least 50 distinct inputs (${n})`);
    await assertHealthy(s, { rssMiB: RSS_MIB });
  });
});

describe('WebSocket /feed', () => {
  test('bad subscriptions, out-of-order requests and oversized frames: 1007/1008/1009; resume ahead → reset', async () => {
    await fetch(`${s.httpUrl}/feed/channels`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'wsf', rate: 0, bytes: 8 }),
    });
    let n = await frameFaults('/feed', 64 * 1024);
    const sub = (o: Record<string, unknown>) => JSON.stringify({ op: 'subscribe', channel: 'wsf', ...o });
    const cases: Array<[string, Array<string | Buffer>, number, RegExp?]> = [
      ['not JSON', ['{'], 1007],
      ['empty', [''], 1007],
      ['binary', [Buffer.from(sub({}))], 1007],
      ['JSON null', ['null'], 1008],
      ['a number', ['1'], 1008],
      ['an array', ['[]'], 1008],
      ['no op', ['{}'], 1008, /unknown op/],
      ['op publish', [JSON.stringify({ op: 'publish' })], 1008],
      ['op SUBSCRIBE', [JSON.stringify({ op: 'SUBSCRIBE', channel: 'wsf' })], 1008],
      // a 200-character op and a 60-emoji channel: reasons over 123 bytes used to end the process
      ['an op of 200 characters', [JSON.stringify({ op: 'x'.repeat(200) })], 1008, /unknown op/],
      [
        'a channel of 60 emoji',
        [JSON.stringify({ op: 'subscribe', channel: '😀'.repeat(60) })],
        1008,
        /unknown channel/,
      ],
      ['an op object', [JSON.stringify({ op: { a: 1 } })], 1008],
      ['channel missing', [JSON.stringify({ op: 'subscribe' })], 1008, /channel must be/],
      ['channel a number', [sub({ channel: 5 })], 1008],
      ['channel null', [sub({ channel: null })], 1008],
      ['channel empty', [sub({ channel: '' })], 1008],
      ['channel unknown', [sub({ channel: 'ghost' })], 1008, /unknown channel 'ghost'/],
      ['channel of 10 KB', [sub({ channel: 'c'.repeat(10_000) })], 1008],
      ['after negative', [sub({ after: -1 })], 1008, /after must be/],
      ['after fractional', [sub({ after: 1.5 })], 1008],
      ['after a string', [sub({ after: '1' })], 1008],
      ['after 2^60', [sub({ after: 2 ** 60 })], 1008],
      ['after null', [sub({ after: null })], 1008],
      ['subscribing twice', [sub({}), sub({})], 1008, /already subscribed/],
      ['a frame over 64 KiB', ['x'.repeat(64 * 1024 + 1)], 1009],
      ['deeply nested JSON', ['['.repeat(5000) + ']'.repeat(5000)], 1008],
    ];
    await inBatches(cases, 8, async ([what, frames, code, reason]) => {
      const out = await wsExchange(s.wsUrl('/feed'), frames);
      assert.equal(out.code, code, `${what}: close ${code}, got ${out.code} ${out.reason}`);
      if (reason) assert.match(out.reason, reason, what);
    });
    n += cases.length;
    const ahead = await wsExchange(s.wsUrl('/feed'), [sub({ after: 5000 })], { until: (k) => k >= 2 });
    assert.equal(
      JSON.parse(ahead.messages[1]!.data.toString()).op,
      'reset',
      'a resume point ahead of the channel gets a reset',
    );
    const silent = await wsExchange(s.wsUrl('/feed'), [], { waitMs: 6000 });
    assert.equal(silent.code, 1008, 'no subscribe within the handshake time: 1008');
    assert.match(silent.reason, /no request within 2000 ms/);
    n += 2;
    assert.ok(n >= 50, `at least 50 distinct inputs (${n})`);
    await assertHealthy(s, { rssMiB: RSS_MIB });
  });
});

describe('Socket.IO', () => {
  /** Opens an Engine.IO WebSocket, joins "/", sends `packets`; resolves with what the server did. */
  const sio = (packets: Array<string | Buffer>, join = true) =>
    new Promise<{ closed: boolean; texts: string[] }>((resolve) => {
      const texts: string[] = [];
      {
        const ws = new WebSocket(`${s.wsUrl('/socket.io/')}?EIO=4&transport=websocket`);
        const timer = setTimeout(() => {
          ws.terminate();
          resolve({ closed: false, texts });
        }, 3000);
        ws.on('message', (d: Buffer, binary) => {
          const m = binary ? `<binary ${d.length}>` : d.toString();
          texts.push(m);
          if (m.startsWith('0{')) {
            if (join) ws.send('40');
            else for (const p of packets) ws.send(p);
          } else if (m.startsWith('40{')) for (const p of packets) ws.send(p);
          else if (m.startsWith('44')) {
            clearTimeout(timer);
            ws.terminate();
            resolve({ closed: false, texts });
          }
        });
        ws.on('close', () => {
          clearTimeout(timer);
          resolve({ closed: true, texts });
        });
        ws.on('error', () => {});
      }
    });

  /** Opens an Engine.IO WebSocket and sends `connect` (a CONNECT packet); resolves with the first answer. */
  const connectWith = (connect: string) =>
    new Promise<string>((resolve) => {
      const ws = new WebSocket(`${s.wsUrl('/socket.io/')}?EIO=4&transport=websocket`);
      const done = (what: string) => {
        clearTimeout(timer);
        ws.terminate();
        resolve(what);
      };
      const timer = setTimeout(() => done('<no answer>'), 3000);
      ws.on('message', (d: Buffer) => {
        const m = d.toString();
        if (m.startsWith('0{')) ws.send(connect);
        else if (m.startsWith('40') || m.startsWith('44')) done(m);
      });
      ws.on('close', () => done('<closed>'));
      ws.on('error', () => {});
    });

  test('connection state recovery: a bogus, foreign or oversized pid/offset in the CONNECT auth gets a fresh session', async () => {
    const live = JSON.parse((await connectWith('40')).slice(2)) as { sid: string; pid: string };
    assert.ok(typeof live.pid === 'string' && live.pid.length > 0, 'the server hands out a pid');
    const auths: unknown[] = [
      { pid: 'nope', offset: '1' },
      { pid: 'nope' },
      { offset: '1' },
      { pid: 1, offset: 1 },
      { pid: null, offset: null },
      { pid: {}, offset: [] },
      { pid: ['a'], offset: { '0': 'a' } },
      { pid: 'x'.repeat(20_000), offset: '1' },
      { pid: 'nope', offset: 'z'.repeat(20_000) },
      { pid: 'nope', offset: '-1' },
      { pid: '__proto__', offset: '1' },
      { pid: 'constructor', offset: '0' },
      { pid: live.pid, offset: '1' }, // a session that never dropped
      { pid: live.pid, offset: 'zzzzzzzzzzz' },
      { pid: live.pid, offset: '\u0000' },
    ];
    await inBatches(auths, 5, async (auth) => {
      const answer = await connectWith(`40${JSON.stringify(auth)}`);
      const what = JSON.stringify(auth).slice(0, 60);
      assert.match(answer, /^40\{/, `${what}: a CONNECT ack (${answer.slice(0, 60)})`);
      const ack = JSON.parse(answer.slice(2)) as { sid: string; pid: string };
      assert.notEqual(ack.pid, (auth as { pid?: unknown }).pid, `${what}: a fresh session, not the one named`);
      assert.notEqual(ack.sid, live.sid, `${what}: not the named session's id`);
    });
    // Auth that is not an object is not a CONNECT at all: the connection is closed.
    for (const p of ['40"pid"', '40["pid","1"]', '40true']) assert.equal(await connectWith(p), '<closed>', p);
    await assertHealthy(s, { rssMiB: RSS_MIB });
  });

  test('undecodable, deeply nested, out-of-order and oversized packets: connection closed or CONNECT_ERROR; nobody else affected', async () => {
    const closes = [
      'x',
      '9',
      '4',
      '4x',
      '47',
      '48[]',
      '42[',
      '42["echo"',
      '42{}',
      '42"echo"',
      '42[null]',
      '421[',
      '42/nope,["echo"]',
      '4-1["echo"]',
      '45x-["echo"]',
      '499999999999999999999["echo"]',
      '43[',
      '46',
      '41x',
      '40x',
      '40[',
      '400',
      '2x',
      '42["echo",' + '['.repeat(33) + ']'.repeat(33) + ']',
      '421["echo",' + '['.repeat(6000) + ']'.repeat(6000) + ']',
      '421["echo",' + '{"a":'.repeat(3000) + '1' + '}'.repeat(3000) + ']',
      'z'.repeat(MAX + 1),
      '42["echo",' + '['.repeat(100) + ']'.repeat(100) + ']',
      '42["echo",' + '{"a":['.repeat(20) + ']}'.repeat(20) + ']',
    ];
    // Packets Socket.IO has no answer for and ignores (an event without a name, an ack without an
    // id, attachments that never come, Engine.IO noop/upgrade): never acknowledged, nothing breaks.
    const ignored = [
      '42',
      '42[1]',
      '451-["echo",{"_placeholder":true,"num":0}]',
      '452-["echo"]',
      '43',
      '6',
      '5',
      '4' + '2'.repeat(50),
      '42["echo","\\ud800' + '['.repeat(40) + '"]',
    ];
    await inBatches(ignored, 8, async (p) => {
      const out = await sio([p]);
      assert.ok(!out.texts.some((t) => t.startsWith('43')), `${p.slice(0, 40)}: not acknowledged`);
    });
    await inBatches(closes, 6, async (p) => {
      const out = await sio([p]);
      assert.ok(
        out.closed || out.texts.some((t) => t.startsWith('44')),
        `${p.slice(0, 40)}: the server closes or refuses (${out.texts.join(' | ').slice(0, 120)})`,
      );
    });
    const connectErrors = ['40/nope,', '40/admin,', '40/' + 'n'.repeat(200) + ','];
    for (const p of connectErrors) {
      const out = await sio([p], false);
      assert.ok(
        out.texts.some((t) => t.startsWith('44/')),
        `${p.slice(0, 30)}: CONNECT_ERROR`,
      );
    }
    // Engine.IO over HTTP (long polling): bad handshakes get Engine.IO's own 400 with a code.
    const polling: Array<[string, number]> = [
      ['?EIO=3&transport=polling', 400],
      ['?EIO=5&transport=polling', 400],
      ['?EIO=4&transport=carrier-pigeon', 400],
      ['?EIO=4&transport=polling&sid=nope', 400],
      ['?transport=polling', 400],
      ['?EIO=4', 400],
      ['?EIO=4&transport=websocket', 400],
      [`?EIO=4&transport=polling&sid=${'s'.repeat(5000)}`, 400],
      ['?EIO=4&transport=polling&sid=%00', 400],
      ['?EIO=x&transport=polling', 400],
    ];
    for (const [q, status] of polling) {
      const res = await fetch(`${s.httpUrl}/socket.io/${q}`);
      assert.equal(res.status, status, `polling ${q.slice(0, 50)}`);
    }
    // A polling POST over the maximum: 413.
    const hs = await (await fetch(`${s.httpUrl}/socket.io/?EIO=4&transport=polling`)).text();
    const sid = JSON.parse(hs.slice(1)).sid as string;
    const big = await fetch(`${s.httpUrl}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
      method: 'POST',
      body: '4' + 'x'.repeat(MAX + 10),
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(big.status, 413);
    const n = closes.length + ignored.length + connectErrors.length + polling.length + 1;
    assert.ok(n >= 50, `at least 50 distinct inputs (${n})`);
    const st = await stats(s);
    assert.ok(st.protocols.socketio!.errors >= 10, `errors counted in /stats: ${st.protocols.socketio!.errors}`);
    await assertHealthy(s, { rssMiB: RSS_MIB });
  });
});

describe('gRPC over WebSocket (bridge)', () => {
  const ECHO = '/rtbench.echo.v1.EchoService/Echo';
  const STREAM = '/rtbench.echo.v1.EchoService/EchoStream';
  const H = bridgeHeaders();
  const D = bridgeData;
  const F = BRIDGE_FINISH;
  const text = (t: string) => Buffer.from(t, 'latin1');
  /** A client data message (0x00) carrying a frame with any flag and announced length. */
  const raw = (flag: number, len: number, body = Buffer.alloc(0)) => {
    const b = Buffer.alloc(PREFIX_BYTES);
    b[0] = flag;
    b.writeUInt32BE(len, 1);
    return Buffer.from(clientData(Buffer.concat([b, body])));
  };
  const good = Buffer.from(encodeFrame(FLAG_DATA, pbVarint(1, 5)));

  test('bad paths, headers, messages, frames and orders: a trailer with the status, then a close code; invalid protobuf relayed as INVALID_ARGUMENT', async () => {
    let n = await frameFaults(`/grpc-ws${ECHO}`, MAX + PREFIX_BYTES + 1, [], {
      'Sec-WebSocket-Protocol': SUBPROTOCOL,
    });
    // [what, method (path after /grpc-ws), messages, status (null: any trailer, or none), close code]
    const cases: Array<[string, string, Array<string | Buffer>, number | null, number]> = [
      ['an unknown method', '/nope.Service/Nope', [H], Status.UNIMPLEMENTED, 1000],
      ['a path naming no method', '/x', [H], Status.UNIMPLEMENTED, 1000],
      ['a method path with an extra segment', `${ECHO}/more`, [H], Status.UNIMPLEMENTED, 1000],
      ['an unknown method of 2000 characters', `/a.B/${'x'.repeat(2000)}`, [H], Status.UNIMPLEMENTED, 1000],
      ['a method of 60 emoji', `/a.B/${'😀'.repeat(60)}`, [H], Status.UNIMPLEMENTED, 1000],
      ['a text first message', ECHO, ['content-type: application/grpc-web+proto'], Status.INVALID_ARGUMENT, 1007],
      ['a header line without a colon', ECHO, [text('nocolon\r\n')], Status.INVALID_ARGUMENT, 1007],
      ['a header name with spaces', ECHO, [text('bad name: v\r\n')], Status.INVALID_ARGUMENT, 1007],
      ['a header line starting with a colon', ECHO, [text(': v\r\n')], Status.INVALID_ARGUMENT, 1007],
      ['headers over 16 KiB', ECHO, [text(`x-big: ${'a'.repeat(17_000)}\r\n`)], Status.RESOURCE_EXHAUSTED, 1009],
      ['a grpc-timeout without a unit', ECHO, [text('grpc-timeout: 5\r\n')], Status.INVALID_ARGUMENT, 1007],
      ['a grpc-timeout of 9 digits', ECHO, [text('grpc-timeout: 123456789m\r\n')], Status.INVALID_ARGUMENT, 1007],
      ['a grpc-timeout that is a word', ECHO, [text('grpc-timeout: soon\r\n')], Status.INVALID_ARGUMENT, 1007],
      [
        'a grpc-timeout of 1 ns',
        ECHO,
        [text('grpc-timeout: 1n\r\n'), D(pbVarint(1, 1)), F],
        Status.DEADLINE_EXCEEDED,
        1000,
      ],
      ['a binary metadata value that is not base64', ECHO, [text('x-bin: !!!\r\n'), D(pbVarint(1, 1)), F], null, 0],
      ['a header of blank lines only', ECHO, [text('\r\n\r\n'), D(pbVarint(1, 1)), F], Status.OK, 1000],
      ['a text message after the header', ECHO, [H, 'again'], Status.INVALID_ARGUMENT, 1007],
      ['an empty binary message', ECHO, [H, Buffer.alloc(0)], Status.INVALID_ARGUMENT, 1007],
      ...[0x02, 0x7f, 0x80, 0xff].map((b): [string, string, Buffer[], number, number] => [
        `a message starting with 0x${b.toString(16)}`,
        ECHO,
        [H, Buffer.concat([Buffer.from([b]), good])],
        Status.INVALID_ARGUMENT,
        1007,
      ]),
      ['a finish-send with a body', ECHO, [H, Buffer.from([0x01, 0x00])], Status.INVALID_ARGUMENT, 1007],
      [
        'a frame shorter than its prefix at the finish-send',
        ECHO,
        [H, raw(0, 3).subarray(0, 4), F],
        Status.INVALID_ARGUMENT,
        1007,
      ],
      [
        'a length longer than the message at the finish-send',
        ECHO,
        [H, raw(0, 10, Buffer.alloc(3)), F],
        Status.INVALID_ARGUMENT,
        1007,
      ],
      ['a length over the maximum', ECHO, [H, raw(0, MAX + 1)], Status.RESOURCE_EXHAUSTED, 1009],
      ['a length of 4 GiB', ECHO, [H, raw(0, 0xffffffff)], Status.RESOURCE_EXHAUSTED, 1009],
      ['a compressed frame', ECHO, [H, raw(1, 1, Buffer.from([8]))], Status.UNIMPLEMENTED, 1007],
      ...[0x02, 0x03, 0x04, 0x10, 0x40, 0x7f, 0x80, 0x81, 0xff].map((f): [string, string, Buffer[], number, number] => [
        `a frame with flag 0x${f.toString(16)}`,
        ECHO,
        [H, raw(f, 0)],
        Status.INVALID_ARGUMENT,
        1007,
      ]),
      ['two requests on a unary call', ECHO, [H, D(pbVarint(1, 1)), D(pbVarint(1, 2))], Status.INVALID_ARGUMENT, 1007],
      [
        'two requests in one message on a unary call',
        ECHO,
        [H, Buffer.from(clientData(Buffer.concat([good, good])))],
        Status.INVALID_ARGUMENT,
        1007,
      ],
      ['the finish-send first on a unary call', ECHO, [H, F], Status.INVALID_ARGUMENT, 1007],
      ['two finish-sends on a stream', STREAM, [H, F, F], Status.INVALID_ARGUMENT, 1007],
      ['a request after the finish-send on a stream', STREAM, [H, F, D(pbVarint(1, 1))], Status.INVALID_ARGUMENT, 1007],
      ['invalid protobuf (wire type 7)', ECHO, [H, D(Buffer.from([0x7f, 1])), F], Status.INVALID_ARGUMENT, 1000],
      ['invalid protobuf (field 0)', ECHO, [H, D(Buffer.from([0, 1])), F], Status.INVALID_ARGUMENT, 1000],
      ['invalid protobuf (wrong wire type)', ECHO, [H, D(pbBytes(1, 'x')), F], Status.INVALID_ARGUMENT, 1000],
      ['invalid protobuf on a stream', STREAM, [H, D(Buffer.from([0x0b])), F], Status.INVALID_ARGUMENT, 1000],
      [
        'a bad SubscribeOrders filter',
        '/rtbench.orders.v1.OrderService/SubscribeOrders',
        [H, D(pbVarint(2, 0)), F],
        Status.INVALID_ARGUMENT,
        1000,
      ],
      [
        'a bad CreateOrder',
        '/rtbench.orders.v1.OrderService/CreateOrder',
        [H, D(Buffer.alloc(0)), F],
        Status.INVALID_ARGUMENT,
        1000,
      ],
      // edges that are allowed: a frame split over two messages, an empty data message
      [
        'a frame split over two messages',
        ECHO,
        [H, Buffer.from(clientData(good.subarray(0, 3))), Buffer.from(clientData(good.subarray(3))), F],
        Status.OK,
        1000,
      ],
      [
        'an empty data message before the request',
        ECHO,
        [H, Buffer.from([0x00]), D(pbVarint(1, 1)), F],
        Status.OK,
        1000,
      ],
    ];
    await inBatches(cases, 8, async ([what, method, frames, status, code]) => {
      const out = await bridgeExchange(s, method, frames);
      assert.ok(out.code !== -1, `${what}: the bridge closed the call`);
      const trailer = bridgeTrailer(out);
      if (status === null) {
        assert.ok([1000, 1007].includes(out.code), `${what}: closed ${out.code}`);
        return;
      }
      assert.ok(trailer, `${what}: a trailer (closed ${out.code} ${out.reason})`);
      assert.equal(trailer.code, status, `${what}: status ${status} (${trailer.message})`);
      assert.equal(out.code, code, `${what}: close ${code}`);
    });
    n += cases.length;
    // Upgrades the bridge refuses: no WebSocket at all.
    const upgrades: Array<[string, string[]]> = [
      ['no subprotocol', []],
      ['another subprotocol', ['grpc-web']],
      ['a subprotocol that only starts the same', ['grpc-websocketsx']],
    ];
    for (const [what, protocols] of upgrades) {
      const out = await wsExchange(bridgeUrl(s, ECHO), [], { protocols });
      assert.equal(out.refused, 400, `${what}: HTTP 400 (${out.reason})`);
    }
    n += upgrades.length;
    const silent = await bridgeExchange(s, ECHO, [], { waitMs: 6000 });
    assert.equal(silent.code, 1008, 'no header within the handshake time: 1008');
    n++;
    assert.ok(n >= 50, `at least 50 distinct inputs (${n})`);
    await assertHealthy(s, { rssMiB: RSS_MIB });
  });
});

describe('stalled and silent connections', () => {
  test('a frame stalled halfway, a silent socket, a bridge call that never ends, gRPC without a preface: all cut in time', async () => {
    const quick = await startServers(['--idle-ms', '2000', '--handshake-ms', '1000']);
    try {
      const started = Date.now();
      const [stalled, silent, bridge, preface] = await Promise.all([
        // a binary frame announcing 4096 bytes, of which 3 arrive: its pong can never come
        rawTcp(
          portOf(quick),
          Buffer.concat([
            Buffer.from(upgradeRequest('/echo'), 'latin1'),
            wsFrame(0x2, Buffer.alloc(4096)).subarray(0, 11),
          ]),
          8000,
        ),
        wsExchange(quick.wsUrl('/echo'), [], { waitMs: 8000 }),
        bridgeExchange(quick, '/rtbench.echo.v1.EchoService/EchoStream', [bridgeHeaders()], { waitMs: 8000 }),
        rawTcp(Number(quick.grpcAddr.split(':').pop()), Buffer.alloc(0), 8000),
      ]);
      assert.ok(stalled.closed, 'the stalled frame’s connection was cut');
      assert.equal(silent.code, 1008, `a silent WebSocket is closed 1008 (${silent.code} ${silent.reason})`);
      assert.match(silent.reason, /idle for 2000 ms/);
      assert.equal(bridge.code, 1008, `a bridge call with no traffic is closed 1008 (${bridge.code} ${bridge.reason})`);
      assert.ok(preface.closed, 'a gRPC connection without the HTTP/2 preface is cut');
      assert.ok(Date.now() - started < 7000, `all within ${Date.now() - started} ms`);
      await assertHealthy(quick, { rssMiB: RSS_MIB });
    } finally {
      assert.equal(await quick.stop(), 0);
    }
  });
});
