// Shared by the hostile-input suites: raw clients that can send what no well-behaved library
// would (bytes on a TCP socket, arbitrary WebSocket frames, arbitrary protobuf bytes), and the
// check run after every batch: the process is alive, /healthz answers, one good request per
// protocol succeeds, and RSS is under the stated bound.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import * as grpc from '@grpc/grpc-js';
import type { Servers } from '../helpers.ts';
import {
  FINISH_SEND,
  FLAG_DATA,
  FLAG_TRAILER,
  FrameReader,
  SUBPROTOCOL,
  clientData,
  decodeTrailer,
  encodeFrame,
  encodeHeaderLines,
} from '../../contracts/grpc-websockets.ts';

export const WAIT_MS = 4000;

export interface RawReply {
  /** HTTP status of the first response line, or null when the server sent none. */
  status: number | null;
  text: string;
  /** True when the server closed the connection (false: still open when we gave up). */
  closed: boolean;
}

/** Writes `bytes` on a new TCP connection and reads until the server closes it or `waitMs` passes. */
export function rawTcp(port: number, bytes: string | Buffer, waitMs = WAIT_MS, host = '127.0.0.1'): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = connect(port, host, () =>
      socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes),
    );
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : null, text, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (d) => {
      chunks.push(d);
      // A complete non-upgrade response with a body length: no need to wait for the close.
      const text = Buffer.concat(chunks).toString('latin1');
      if (/^HTTP\/1\.1 101/.test(text) && closeCodeIn({ status: 101, text, closed: false }) !== null)
        return finish(true);
      const cl = /content-length: (\d+)/i.exec(text);
      const head = text.indexOf('\r\n\r\n');
      if (!/^HTTP\/1\.1 101/.test(text) && cl && head >= 0 && text.length - head - 4 >= Number(cl[1])) finish(true);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
  });
}

/** Runs `fn` over `items`, `width` at a time. */
export async function inBatches<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

/** Protocol violations every WebSocket endpoint must answer with a close code (1002 protocol error, 1007, 1009). */
export function rawFrameFaults(maxPayload: number): Array<[string, Buffer, number]> {
  const close = (code: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(code);
    return b;
  };
  return [
    ['an unmasked frame', wsFrame(0x1, 'hi', { mask: false }), 1002],
    ...[0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op): [string, Buffer, number] => [
      `reserved opcode 0x${op.toString(16)}`,
      wsFrame(op, 'x'),
      1002,
    ]),
    ['RSV1 without an extension', wsFrame(0x1, 'x', { rsv: 4 }), 1002],
    ['RSV2', wsFrame(0x1, 'x', { rsv: 2 }), 1002],
    ['RSV3', wsFrame(0x2, 'x', { rsv: 1 }), 1002],
    ['a continuation with nothing to continue', wsFrame(0x0, 'x'), 1002],
    ['a fragmented ping', wsFrame(0x9, 'x', { fin: false }), 1002],
    ['a ping over 125 bytes', wsFrame(0x9, Buffer.alloc(126)), 1002],
    ['a close with a 1-byte body', wsFrame(0x8, Buffer.from([3])), 1002],
    ...[0, 999, 1004, 1005, 1006, 1016, 2999, 5000].map((c): [string, Buffer, number] => [
      `a close with invalid code ${c}`,
      wsFrame(0x8, close(c)),
      1002,
    ]),
    [
      'a new message inside a fragmented one',
      Buffer.concat([wsFrame(0x1, 'a', { fin: false }), wsFrame(0x1, 'b')]),
      1002,
    ],
    ['a text frame that is not UTF-8', wsFrame(0x1, Buffer.from([0xc3, 0x28])), 1007],
    ['a text frame with a lone surrogate', wsFrame(0x1, Buffer.from([0xed, 0xa0, 0x80])), 1007],
    [
      'a frame announcing more than the maximum',
      wsFrame(0x2, Buffer.alloc(0), { lengthOverride: maxPayload + 1 }),
      1009,
    ],
    [
      'a 64-bit length over 2^53',
      Buffer.from([0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]),
      1009,
    ],
    [
      'fragments adding up past the maximum',
      Buffer.concat([
        wsFrame(0x2, Buffer.alloc(Math.ceil(maxPayload / 2) + 1), { fin: false }),
        wsFrame(0x0, Buffer.alloc(Math.ceil(maxPayload / 2) + 1)),
      ]),
      1009,
    ],
  ];
}

export const portOf = (s: Servers) => Number(new URL(s.httpUrl).port);
export const grpcPortOf = (s: Servers) => Number(s.grpcAddr.split(':').pop());

/** A client WebSocket frame, masked as RFC 6455 requires of clients (unless `mask` is false). */
export function wsFrame(
  opcode: number,
  payload: Buffer | string = Buffer.alloc(0),
  opts: { fin?: boolean; rsv?: number; mask?: boolean; lengthOverride?: number } = {},
): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const fin = opts.fin ?? true;
  const mask = opts.mask ?? true;
  const len = opts.lengthOverride ?? body.length;
  const head: number[] = [(fin ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opcode];
  if (len < 126) head.push((mask ? 0x80 : 0) | len);
  else if (len < 65536) head.push((mask ? 0x80 : 0) | 126, len >> 8, len & 0xff);
  else {
    head.push((mask ? 0x80 : 0) | 127);
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(len));
    head.push(...b);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), body]);
  const key = randomBytes(4);
  const masked = Buffer.from(body.map((byte, i) => byte ^ key[i % 4]!));
  return Buffer.concat([Buffer.from(head), key, masked]);
}

export function upgradeRequest(path: string, headers: Record<string, string> = {}): string {
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const key = randomBytes(16).toString('base64');
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
}

/** The close code in the first close frame the server sent on a raw upgraded connection, or null. */
export function closeCodeIn(reply: RawReply): number | null {
  const buf = Buffer.from(reply.text, 'latin1');
  const start = buf.indexOf('\r\n\r\n');
  if (start < 0) return null;
  let pos = start + 4;
  while (pos + 2 <= buf.length) {
    const opcode = buf[pos]! & 0x0f;
    let len = buf[pos + 1]! & 0x7f;
    let off = pos + 2;
    if (len === 126) {
      len = buf.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      len = Number(buf.readBigUInt64BE(off));
      off += 8;
    }
    if (opcode === 0x8) return len >= 2 ? buf.readUInt16BE(off) : 1005;
    pos = off + len;
  }
  return null;
}

export interface WsOutcome {
  code: number;
  reason: string;
  messages: Array<{ data: Buffer; binary: boolean }>;
  /** The HTTP status when the upgrade was refused. */
  refused?: number;
}

/** Opens a WebSocket, sends `frames`, collects messages until the server closes (or `waitMs`: code -1). */
export function wsExchange(
  url: string,
  frames: Array<string | Buffer>,
  opts: {
    headers?: Record<string, string>;
    protocols?: string[];
    waitMs?: number;
    until?: (n: number) => boolean;
  } = {},
): Promise<WsOutcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers });
    const messages: WsOutcome['messages'] = [];
    let settled = false;
    const done = (o: Omit<WsOutcome, 'messages'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...o, messages });
      ws.terminate();
    };
    const timer = setTimeout(() => done({ code: -1, reason: 'still open' }), opts.waitMs ?? WAIT_MS);
    ws.on('open', () => {
      for (const f of frames) ws.send(f, { binary: typeof f !== 'string' });
    });
    ws.on('message', (data: Buffer, binary) => {
      messages.push({ data, binary });
      if (opts.until?.(messages.length)) done({ code: 0, reason: 'enough messages' });
    });
    ws.on('unexpected-response', (_req, res) =>
      done({ code: -2, reason: `HTTP ${res.statusCode}`, refused: res.statusCode }),
    );
    ws.on('close', (code, reason) => done({ code, reason: String(reason) }));
    ws.on('error', () => {});
  });
}

const same = (b: Buffer) => b;

// ---- the bridge (grpc-websockets, contracts/grpc-websockets.ts) ----

/** The URL of a bridged call: /grpc-ws/<package.Service>/<Method>. */
export const bridgeUrl = (s: Servers, method: string) => s.wsUrl(`/grpc-ws${method}`);
/** A client data message carrying one request frame. */
export const bridgeData = (body: Buffer) => Buffer.from(clientData(encodeFrame(FLAG_DATA, body)));
export const BRIDGE_FINISH = Buffer.from(FINISH_SEND);
/** The request headers improbable's client sends, plus `metadata`. */
export const bridgeHeaders = (metadata: Record<string, string> = {}) =>
  Buffer.from(
    encodeHeaderLines([
      ['content-type', 'application/grpc-web+proto'],
      ['x-grpc-web', '1'],
      ...Object.entries(metadata),
    ]),
  );

/** Opens a bridged call with the grpc-websockets subprotocol and sends `frames` (see wsExchange). */
export function bridgeExchange(
  s: Servers,
  method: string,
  frames: Array<string | Buffer>,
  opts: { headers?: Record<string, string>; waitMs?: number; url?: string } = {},
): Promise<WsOutcome> {
  return wsExchange(opts.url ?? bridgeUrl(s, method), frames, { ...opts, protocols: [SUBPROTOCOL] });
}

/** The status in the trailer of a bridged call's answer (frames may span messages), or null when none came. */
export function bridgeTrailer(out: WsOutcome): { code: number; message: string } | null {
  const reader = new FrameReader(1 << 30);
  let trailer: { code: number; message: string } | null = null;
  for (const m of out.messages) {
    for (const f of reader.push(m.data)) if (f.flag === FLAG_TRAILER) trailer = decodeTrailer(f.body) ?? trailer;
  }
  return trailer;
}

export interface GrpcOutcome {
  code: number;
  details: string;
  responses: number;
}

/** A gRPC call with raw request bytes (one for unary/server streaming, a list for request streams). */
export function grpcRaw(
  client: grpc.Client,
  path: string,
  kind: 'unary' | 'server' | 'client' | 'bidi',
  requests: Buffer[],
  metadata = new grpc.Metadata(),
): Promise<GrpcOutcome> {
  return new Promise((resolve) => {
    let responses = 0;
    const deadline = Date.now() + WAIT_MS;
    const done = (s: { code: number; details: string }) => resolve({ code: s.code, details: s.details, responses });
    if (kind === 'unary' || kind === 'client') {
      const cb = (err: grpc.ServiceError | null) =>
        done(err ? { code: err.code, details: err.details } : { code: 0, details: '' });
      if (kind === 'unary') client.makeUnaryRequest(path, same, same, requests[0]!, metadata, { deadline }, cb);
      else {
        const call = client.makeClientStreamRequest(path, same, same, metadata, { deadline }, cb);
        for (const r of requests) call.write(r);
        call.end();
      }
      return;
    }
    const call =
      kind === 'server'
        ? client.makeServerStreamRequest(path, same, same, requests[0]!, metadata, { deadline })
        : client.makeBidiStreamRequest(path, same, same, metadata, { deadline });
    call.on('data', () => responses++);
    call.on('error', () => {});
    call.on('status', (s: grpc.StatusObject) => done(s));
    if (kind === 'bidi') {
      const w = call as grpc.ClientDuplexStream<Buffer, Buffer>;
      for (const r of requests) w.write(r);
      w.end();
    }
  });
}

export function grpcClient(s: Servers, opts: grpc.ChannelOptions = {}): grpc.Client {
  return new grpc.Client(s.grpcAddr, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
    ...opts,
  });
}

// ---- protobuf bytes by hand --------------------------------------------------------------

export function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  const out: number[] = [];
  while (v > 127n) {
    out.push(Number(v & 127n) | 128);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}
export const tag = (field: number, wire: number) => varint(field * 8 + wire);
export const pbVarint = (field: number, v: number | bigint) => Buffer.concat([tag(field, 0), varint(v)]);
export const pbBytes = (field: number, b: Buffer | string) => {
  const body = typeof b === 'string' ? Buffer.from(b) : b;
  return Buffer.concat([tag(field, 2), varint(body.length), body]);
};
export const pbDouble = (field: number, d: number) => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(d);
  return Buffer.concat([tag(field, 1), b]);
};

/** Malformed protobuf that every message type must refuse (wire-level faults). */
export function malformedWire(): Array<[string, Buffer]> {
  const elevenByteVarint = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
  return [
    ['field number 0 (varint)', Buffer.from([0x00, 0x01])],
    ['field number 0 (bytes)', Buffer.from([0x02, 0x00])],
    ['wire type 6', Buffer.from([0x0e, 0x01])],
    ['wire type 7', Buffer.from([0x7f, 0x01])],
    ['group start (wire type 3), unterminated', Buffer.from([0x0b, 0x08, 0x01])],
    ['group start then end', Buffer.from([0x0b, 0x0c])],
    ['lone group end (wire type 4)', Buffer.from([0x0c])],
    ['11-byte varint value', Buffer.concat([Buffer.from([0x78]), elevenByteVarint])],
    ['11-byte varint tag', elevenByteVarint],
    [
      '10-byte varint overflowing 64 bits',
      Buffer.from([0x78, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
    ],
    ['truncated varint', Buffer.from([0x78, 0x80])],
    ['truncated tag', Buffer.from([0x80])],
    ['length past the end', Buffer.from([0x7a, 0x05, 0x01])],
    ['huge length', Buffer.concat([Buffer.from([0x7a]), varint(2 ** 40)])],
    ['truncated fixed64', Buffer.from([0x79, 0x01, 0x02])],
    ['truncated fixed32', Buffer.from([0x7d, 0x01])],
    ['field number over 2^29-1', Buffer.concat([varint(2 ** 29 * 8), Buffer.from([0x01])])],
    ['only a tag', Buffer.from([0x7a])],
    ['0xff bytes', Buffer.alloc(16, 0xff)],
    ['random looking bytes', Buffer.from('deadbeefcafebabe0badf00d', 'hex')],
    ['ASCII text', Buffer.from('hello, protobuf?')],
    ['JSON instead of protobuf', Buffer.from('{"id":1}')],
    ['unknown field then wire type 7', Buffer.from([0x78, 0x01, 0x7f])],
    ['unknown length field then truncated', Buffer.from([0x7a, 0x02, 0x00, 0x7a, 0x09])],
    ['a thousand 0x80 bytes', Buffer.alloc(1000, 0x80)],
  ];
}

/** Known fields given the wrong wire type: for each field, each wire type it is not. */
export function wrongWireTypes(fields: Array<[number, number]>): Array<[string, Buffer]> {
  const sample: Record<number, Buffer> = {
    0: varint(1),
    1: Buffer.alloc(8, 1),
    2: Buffer.concat([varint(1), Buffer.from([0x31])]),
    5: Buffer.alloc(4, 1),
  };
  const out: Array<[string, Buffer]> = [];
  for (const [field, wire] of fields) {
    for (const w of [0, 1, 2, 5]) {
      if (w === wire) continue;
      if (w === 2 && wire !== 2) continue; // a length-delimited numeric field may be packed: not wrong
      out.push([`field ${field} with wire type ${w} (expects ${wire})`, Buffer.concat([tag(field, w), sample[w]!])]);
    }
  }
  return out;
}

// ---- the per-batch health check ----------------------------------------------------------

export interface HealthOptions {
  /** RSS bound for this batch, MiB. */
  rssMiB: number;
  token?: string;
}

/** Reads /stats (with the token if given). */
export async function stats(
  s: Servers,
  token?: string,
): Promise<{
  rssBytes: number;
  limits: Record<string, number | boolean>;
  protocols: Record<string, { errors: number; connections: number }>;
}> {
  const res = await fetch(`${s.httpUrl}/stats`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  assert.equal(res.status, 200);
  return (await res.json()) as never;
}

/** Process alive, /healthz OK, one good request per protocol, RSS under the bound. */
export async function assertHealthy(s: Servers, opts: HealthOptions): Promise<void> {
  assert.equal(s.proc.exitCode, null, `the server process is alive:\n${s.output().slice(-2000)}`);
  assert.equal((await fetch(`${s.httpUrl}/healthz`)).status, 200, '/healthz answers');
  const auth: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  // WebSocket /echo
  const echo = await wsExchange(s.wsUrl('/echo'), ['ping'], { headers: auth, until: (n) => n >= 1 });
  assert.equal(echo.messages[0]?.data.toString(), 'ping', 'a WebSocket echo round trip works');
  // WebSocket /image
  const img = Buffer.from('tiny image');
  const claim = JSON.stringify({ id: 7, size: img.length, sha256: createHash('sha256').update(img).digest('hex') });
  const image = await wsExchange(s.wsUrl('/image'), [claim, img], { headers: auth, until: (n) => n >= 1 });
  assert.equal(JSON.parse(image.messages[0]?.data.toString() ?? '{}').match, true, 'an image upload is acknowledged');
  // SSE: a channel that publishes on demand
  const json = { ...auth, 'content-type': 'application/json' };
  const declared = await fetch(`${s.httpUrl}/feed/channels`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ name: 'health', rate: 0, bytes: 8 }),
  });
  assert.ok([200, 201].includes(declared.status), `declare a channel: ${declared.status}`);
  const ctrl = new AbortController();
  const sse = await fetch(`${s.httpUrl}/sse?channel=health`, {
    headers: { ...auth, 'last-event-id': '0' },
    signal: ctrl.signal,
  });
  assert.equal(sse.status, 200);
  await fetch(`${s.httpUrl}/feed/publish?channel=health`, { method: 'POST', headers: json });
  const reader = (sse.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  const until = Date.now() + WAIT_MS;
  while (!/\ndata: \{"seq"/.test(text) && Date.now() < until)
    text += new TextDecoder().decode((await reader.read()).value);
  ctrl.abort();
  assert.match(text, /data: \{"seq"/, 'an SSE message arrives');
  // Socket.IO over its WebSocket transport
  const sio = await socketIoEcho(s, opts.token);
  assert.equal(sio, '431["hi"]', 'a Socket.IO echo is acknowledged');
  // gRPC unary
  const client = grpcClient(s);
  const md = new grpc.Metadata();
  if (opts.token) md.set('authorization', `Bearer ${opts.token}`);
  const direct = await grpcRaw(client, '/rtbench.echo.v1.EchoService/Echo', 'unary', [pbVarint(1, 5)], md);
  client.close();
  assert.equal(direct.code, 0, `a gRPC Echo succeeds: ${direct.details}`);
  // gRPC over WebSocket
  const bridged = await bridgeExchange(
    s,
    '/rtbench.echo.v1.EchoService/Echo',
    [bridgeHeaders(), bridgeData(pbVarint(1, 5)), BRIDGE_FINISH],
    { headers: auth },
  );
  const trailer = bridgeTrailer(bridged);
  assert.ok(trailer, `the bridge answers with a trailer (closed ${bridged.code} ${bridged.reason})`);
  assert.equal(trailer.code, 0, `a bridged Echo succeeds: ${trailer.message}`);
  // Memory
  const st = await stats(s, opts.token);
  assert.ok(
    st.rssBytes < opts.rssMiB * 1024 * 1024,
    `RSS ${Math.round(st.rssBytes / 1048576)} MiB is under ${opts.rssMiB} MiB`,
  );
}

/** Connects to Socket.IO over WebSocket, sends echo("hi") with ack 1, returns the ack packet text. */
export function socketIoEcho(s: Servers, token?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${s.wsUrl('/socket.io/')}?EIO=4&transport=websocket`);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('no Socket.IO ack'));
    }, WAIT_MS);
    ws.on('message', (d: Buffer) => {
      const m = d.toString();
      if (m.startsWith('0')) ws.send(token ? `40${JSON.stringify({ token })}` : '40');
      else if (m.startsWith('40')) ws.send('421["echo","hi"]');
      else if (m === '2') ws.send('3');
      else if (m.startsWith('43')) {
        clearTimeout(timer);
        ws.close();
        resolve(m);
      } else if (m.startsWith('44')) {
        clearTimeout(timer);
        ws.close();
        resolve(m);
      }
    });
    ws.on('error', () => {});
  });
}
