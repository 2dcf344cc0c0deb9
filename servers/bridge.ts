// gRPC over WebSocket (seed 003): a bridge that takes gRPC calls over WebSockets and forwards
// them to a gRPC server (by default this process's own), streaming in every direction. It speaks
// improbable-eng's `grpc-websockets` protocol (contracts/grpc-websockets.ts), so the official
// `@improbable-eng/grpc-web` client with its WebsocketTransport works against it: one call per
// connection at ws://host:port/grpc-ws/<package.Service>/<Method> with subprotocol
// grpc-websockets; the first message holds the request headers (metadata), then each client
// message is 0x00 + gRPC-Web frames, and the single byte 0x01 is the finish-send (a unary or
// server-streaming call starts there, with its one request; request streams are forwarded as
// they arrive); the bridge answers with a 0x80 headers frame, 0x00 response frames and a 0x80
// trailer (`grpc-status`, `grpc-message`), then closes 1000.
//
// The bridge never decodes protobuf: it forwards bytes with grpc-js's generic client (identity
// serializers), so it serves any method of the contracts in proto/, whose streaming kind it reads
// from them. Invalid protobuf reaches the gRPC server, which answers INVALID_ARGUMENT, relayed in
// the trailer. Request metadata is forwarded, except HTTP and gRPC-Web headers (content-type,
// x-grpc-web, user-agent, …); `grpc-timeout` becomes the call's deadline.
//
// Refused input gets a trailer with its status, then a close with a reason:
//   an upgrade without the grpc-websockets subprotocol   HTTP 400, no WebSocket
//   a path naming no method of proto/                    UNIMPLEMENTED       1000 (a normal gRPC answer)
//   a text message, a bad header line, a data message not starting with 0x00, a frame left
//   unfinished at the finish-send, a second request on a unary or server-streaming call, a
//   message after the finish-send                        INVALID_ARGUMENT    1007
//   a compressed frame (flag 0x01)                       UNIMPLEMENTED       1007
//   a frame announcing more than the maximum message size, headers over 16 KiB
//                                                        RESOURCE_EXHAUSTED  1009
//   A WebSocket message larger than a maximum-size frame is refused by ws itself: close 1009,
//   no trailer. A refused call is cancelled upstream; the bridge keeps serving.
//
// Backpressure, both ways: while the gRPC request stream is full the bridge stops reading the
// WebSocket (ws.pause(), so TCP pushes back on the client), and while more than HIGH_WATER_BYTES
// of responses wait to be written to the socket it stops reading the gRPC response stream (so
// HTTP/2 flow control pushes back on the server). A paused response stream holds at most one
// message read ahead. Nothing is buffered without bound.
//
// Limits: the header must come within handshakeMs, a call with no message either way for idleMs
// is closed 1008, and the heartbeat cuts peers that stop answering pings. With a token, the
// upgrade needs it (Authorization header or ?token=; without it HTTP 401, no WebSocket), and the
// bridge passes it upstream as `authorization` metadata unless the client's header names its own.
//
// Stats: connections and WebSocket messages/bytes (frames with their prefix, headers and
// trailers included) as protocol 'grpc-ws'. The forwarded calls also show in 'grpc', counted by
// the gRPC server as it would count any client.
import * as grpc from '@grpc/grpc-js';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { readdirSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { parseTarget, refuseRaw, sendJson, type HttpHost } from './lib/http.ts';
import { CLOSE, closeReason } from '../contracts/close-codes.ts';
import { presentedToken, tokenMatches } from './lib/auth.ts';
import { guardWebSockets, touch } from './lib/ws-guard.ts';
import { loadProtos, protoDir } from './lib/grpc.ts';
import { statsFor } from './lib/stats.ts';
import {
  BRIDGE_PATH,
  CLOSE_INVALID_DATA,
  CLOSE_NORMAL,
  FLAG_COMPRESSED,
  FLAG_DATA,
  FrameError,
  FrameReader,
  PREFIX_BYTES,
  SUBPROTOCOL,
  Status,
  encodeFrame,
  encodeHeadersFrame,
  encodeTrailer,
  methodOfPath,
  parseGrpcTimeout,
  parseHeaderLines,
  readClientMessage,
  statusName,
} from '../contracts/grpc-websockets.ts';

/** Response bytes waiting for the socket beyond which the bridge stops reading the gRPC response stream. */
const HIGH_WATER_BYTES = 1 << 20;

const stats = statsFor('grpc-ws');

export interface BridgeOptions {
  maxMessageBytes: number;
  /** host:port of the gRPC server to forward to. */
  target: string;
  /** Response bytes waiting for the socket beyond which the bridge stops reading the gRPC response stream. */
  maxBufferedBytes?: number;
  handshakeMs?: number;
  idleMs?: number;
  /** Required on the upgrade when set, and sent upstream as `authorization: Bearer <token>` when the client's header has no authorization. */
  token?: string;
  /**
   * Concurrent calls the gRPC server allows on one connection (its max concurrent streams): the
   * bridge opens another upstream connection when every one it has is full, so its WebSocket
   * clients together are not held to one connection's limit.
   */
  streamsPerConnection?: number;
}

/**
 * The bridge's connections to the gRPC server, each carrying up to `perConnection` calls. A
 * connection is opened when all are full and closed when its last call ends (one is kept).
 */
class UpstreamPool {
  private readonly conns: Array<{ client: grpc.Client; calls: number }> = [];

  constructor(
    private readonly open: () => grpc.Client,
    private readonly perConnection: number,
  ) {}

  /** A client with room for one more call, and the function that gives the room back. */
  lease(): { client: grpc.Client; release: () => void } {
    let conn = this.conns.find((c) => c.calls < this.perConnection);
    if (!conn) this.conns.push((conn = { client: this.open(), calls: 0 }));
    conn.calls++;
    let released = false;
    return {
      client: conn.client,
      release: () => {
        if (released) return;
        released = true;
        conn.calls--;
        if (conn.calls === 0 && this.conns.length > 1) {
          this.conns.splice(this.conns.indexOf(conn), 1);
          conn.client.close();
        }
      },
    };
  }

  close(): void {
    for (const c of this.conns.splice(0)) c.client.close();
  }
}

interface MethodKind {
  requestStream: boolean;
  responseStream: boolean;
}

type Call =
  | grpc.ClientUnaryCall
  | grpc.ClientWritableStream<Buffer>
  | grpc.ClientReadableStream<Buffer>
  | grpc.ClientDuplexStream<Buffer, Buffer>;

const same = (b: Buffer) => b;
const invalid = (message: string) => new FrameError(Status.INVALID_ARGUMENT, CLOSE_INVALID_DATA, message);

/** The streaming kind of every method in proto/*.proto, by path (/package.Service/Method). */
export function methodKinds(): Map<string, MethodKind> {
  const pkg = loadProtos(readdirSync(protoDir()).filter((f) => f.endsWith('.proto')));
  const kinds = new Map<string, MethodKind>();
  for (const def of Object.values(pkg)) {
    if ('format' in def) continue; // a message or enum type, not a service
    for (const m of Object.values(def as grpc.ServiceDefinition))
      kinds.set(m.path, { requestStream: m.requestStream, responseStream: m.responseStream });
  }
  return kinds;
}

/** The address to dial for a server listening on host:port (a wildcard address means this host's loopback). */
export function localTarget(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '') return `127.0.0.1:${port}`;
  if (host === '::') return `[::1]:${port}`;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function toBuffer(data: RawData): Buffer {
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
}

/** Request headers that are HTTP or gRPC-Web plumbing, not the call's metadata. */
const NOT_METADATA = new Set([
  'content-type',
  'content-length',
  'x-grpc-web',
  'x-user-agent',
  'user-agent',
  'te',
  'host',
  'connection',
  'accept-encoding',
  'grpc-accept-encoding',
  'grpc-encoding',
  'grpc-timeout',
]);

/**
 * Response metadata as header lines (binary values base64, as gRPC-Web carries them); a name or
 * value that cannot be a header line is left out rather than fail the call.
 */
function metadataFields(md: grpc.Metadata | undefined): Array<[string, string[]]> {
  if (!md) return [];
  const fields: Array<[string, string[]]> = [];
  for (const [name, values] of Object.entries(md.toJSON())) {
    const text = values
      .map((v) => (typeof v === 'string' ? v : Buffer.from(v).toString('base64')))
      .filter((v) => /^[\x20-\x7e\t]*$/.test(v));
    if (/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name) && text.length > 0) fields.push([name, text]);
  }
  return fields;
}

const RESPONSE_HEADERS: Array<[string, string]> = [['content-type', 'application/grpc-web+proto']];

/** One WebSocket connection carrying one call. */
class BridgedCall {
  private header = false;
  private readonly metadata = new grpc.Metadata();
  private deadline: Date | undefined;
  private readonly frames: FrameReader;
  private call: Call | null = null;
  /** A unary or server-streaming call's one request, held until the finish-send starts the call. */
  private single: Buffer | null = null;
  private halfClosed = false;
  private headersSent = false;
  private done = false;
  private readingPaused = false;
  private responsesPaused = false;
  private unsentBytes = 0;
  private corked = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly client: grpc.Client,
    private readonly path: string,
    private readonly kind: MethodKind | null,
    maxMessageBytes: number,
    private readonly highWater: number,
    private readonly token: string,
  ) {
    this.frames = new FrameReader(maxMessageBytes);
    ws.on('message', (data, isBinary) => this.onMessage(toBuffer(data), isBinary));
    ws.on('close', () => {
      // The client went away (or we closed after the trailer): nothing more to forward.
      if (!this.done) {
        this.done = true;
        this.call?.cancel();
      }
    });
    if (!kind) this.finish(Status.UNIMPLEMENTED, `unknown method ${path}`, CLOSE_NORMAL);
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    stats.received(data.length);
    if (this.done) return;
    try {
      if (!isBinary)
        throw invalid(
          'every message must be binary: first the request headers, then 0x00 + frames, then the finish-send 0x01',
        );
      if (!this.header) return this.onHeader(data);
      if (this.halfClosed) throw invalid('message after the finish-send');
      const bytes = readClientMessage(data);
      if (bytes === null) return this.onHalfClose();
      for (const frame of this.frames.push(bytes)) {
        if (frame.flag === FLAG_DATA)
          this.onRequest(Buffer.from(frame.body)); // a copy: the view may be the reader's buffer
        else if (frame.flag === FLAG_COMPRESSED)
          throw new FrameError(
            Status.UNIMPLEMENTED,
            CLOSE_INVALID_DATA,
            'compressed frames (flag 0x01) are not supported',
          );
        else
          throw invalid(`unknown frame flag 0x${frame.flag.toString(16).padStart(2, '0')} (request frames are 0x00)`);
      }
    } catch (err) {
      stats.errors++;
      if (err instanceof FrameError) this.finish(err.status, err.message, err.closeCode, err.message);
      else
        this.finish(Status.INTERNAL, `bridge error: ${(err as Error)?.message ?? String(err)}`, CLOSE.INTERNAL_ERROR);
    }
  }

  private onHeader(data: Buffer): void {
    for (const [name, value] of parseHeaderLines(data)) {
      if (name === 'grpc-timeout') this.deadline = new Date(Date.now() + parseGrpcTimeout(value));
      if (NOT_METADATA.has(name) || name.startsWith(':')) continue;
      try {
        if (name.endsWith('-bin'))
          for (const v of value.split(',')) this.metadata.add(name, Buffer.from(v.trim(), 'base64'));
        else this.metadata.add(name, value);
      } catch (err) {
        throw invalid(`header ${name}: ${(err as Error).message}`);
      }
    }
    if (this.token !== '' && this.metadata.get('authorization').length === 0) {
      this.metadata.set('authorization', `Bearer ${this.token}`);
    }
    this.header = true;
    // Streams of requests start now; a single request starts its call at the finish-send.
    if (this.kind!.requestStream) this.start(null);
  }

  private onRequest(body: Buffer): void {
    if (this.kind!.requestStream) return this.write(body);
    if (this.single) throw invalid(`${this.path} takes exactly one request; a second one came`);
    this.single = body;
  }

  private onHalfClose(): void {
    if (this.frames.pending > 0) throw invalid(`finish-send with ${this.frames.pending} bytes of an unfinished frame`);
    this.halfClosed = true;
    if (this.kind!.requestStream) {
      (this.call as grpc.ClientWritableStream<Buffer>).end();
      return;
    }
    if (!this.single) throw invalid(`${this.path} takes exactly one request; the finish-send came first`);
    this.start(this.single);
    this.single = null;
  }

  private start(request: Buffer | null): void {
    const { requestStream, responseStream } = this.kind!;
    const options: grpc.CallOptions = this.deadline ? { deadline: this.deadline } : {};
    const answer = (_err: grpc.ServiceError | null, value?: Buffer) => {
      if (value) this.respond(value); // an error arrives as the status, below
    };
    let call: Call;
    if (!requestStream && !responseStream)
      call = this.client.makeUnaryRequest(this.path, same, same, request!, this.metadata, options, answer);
    else if (requestStream && !responseStream)
      call = this.client.makeClientStreamRequest(this.path, same, same, this.metadata, options, answer);
    else {
      const stream = requestStream
        ? this.client.makeBidiStreamRequest(this.path, same, same, this.metadata, options)
        : this.client.makeServerStreamRequest(this.path, same, same, request!, this.metadata, options);
      // A paused object-mode stream still reads ahead up to its high-water mark (16 messages, up to
      // 16 maximum-size messages per call): keep one, so pausing really bounds what is held.
      (stream as unknown as { _readableState: { highWaterMark: number } })._readableState.highWaterMark = 1;
      stream.on('data', (message: Buffer) => this.respond(message));
      stream.on('error', () => {}); // a failed call ends with its status, below
      call = stream;
    }
    call.on('metadata', (md: grpc.Metadata) => this.sendHeaders(md));
    // grpc-js reports the status after the last message (and after a unary answer's callback).
    call.on('status', (s: grpc.StatusObject) =>
      this.finish(s.code, s.details, CLOSE_NORMAL, statusName(s.code), s.metadata),
    );
    this.call = call;
  }

  /** The response headers frame, once, before the first response. */
  private sendHeaders(md?: grpc.Metadata): void {
    if (this.headersSent || this.done) return;
    this.headersSent = true;
    this.send(encodeHeadersFrame([...RESPONSE_HEADERS, ...metadataFields(md)]));
  }

  private write(body: Buffer): void {
    const stream = this.call as grpc.ClientWritableStream<Buffer>;
    if (stream.write(body) || this.readingPaused) return;
    this.readingPaused = true;
    this.ws.pause();
    stream.once('drain', () => this.resumeReading());
  }

  private resumeReading(): void {
    if (!this.readingPaused) return;
    this.readingPaused = false;
    this.ws.resume();
  }

  private respond(message: Buffer): void {
    if (this.done) return;
    this.sendHeaders();
    this.send(encodeFrame(FLAG_DATA, message));
    if (this.unsentBytes > this.highWater && !this.responsesPaused && this.call && 'pause' in this.call) {
      this.responsesPaused = true;
      this.call.pause();
    }
  }

  private send(frame: Uint8Array): void {
    // Frames sent in the same tick (a unary answer, its trailer and the close) leave in one write:
    // each socket write is a system call, the bridge's largest cost per call.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    stats.sent(frame.length);
    touch(this.ws);
    this.unsentBytes += frame.length;
    this.ws.send(frame, { binary: true }, () => {
      this.unsentBytes -= frame.length;
      if (this.responsesPaused && this.unsentBytes <= this.highWater / 2) {
        this.responsesPaused = false;
        (this.call as grpc.ClientReadableStream<Buffer>).resume();
      }
    });
  }

  /**
   * Sends the trailer (with the response headers in it when none went before: trailers-only) and
   * closes; a call still running (refused input) is cancelled upstream (after its status, cancel
   * does nothing).
   */
  private finish(
    code: number,
    message: string,
    closeCode: number,
    reason = statusName(code),
    trailers?: grpc.Metadata,
  ): void {
    if (this.done) return;
    this.done = true;
    this.call?.cancel();
    const extra = this.headersSent ? [] : RESPONSE_HEADERS;
    this.headersSent = true;
    this.send(encodeTrailer(code, message, [...extra, ...metadataFields(trailers)]));
    // A paused socket would never read the client's close frame.
    this.resumeReading();
    this.ws.close(closeCode, closeReason(reason));
  }
}

/** Mounts the bridge under /grpc-ws/ on `host`; `stop` closes its calls and its connection to the gRPC server. */
export function mountBridge(host: HttpHost, opts: BridgeOptions): { path: string; stop: () => Promise<void> } {
  const kinds = methodKinds();
  const upstream = new UpstreamPool(
    () =>
      new grpc.Client(opts.target, grpc.credentials.createInsecure(), {
        'grpc.max_send_message_length': opts.maxMessageBytes,
        'grpc.max_receive_message_length': opts.maxMessageBytes,
        // a connection of its own for each client, not one shared through grpc-js's global pool
        'grpc.use_local_subchannel_pool': 1,
      }),
    opts.streamsPerConnection ?? 100,
  );
  // A WebSocket message holds at most one maximum-size frame after its 0x00.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxMessageBytes + PREFIX_BYTES + 1,
    handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  const highWater = opts.maxBufferedBytes ?? HIGH_WATER_BYTES;
  const token = opts.token ?? '';
  const stopGuard = guardWebSockets(
    wss,
    { idleMs: opts.idleMs ?? 120_000, handshakeMs: opts.handshakeMs ?? 10_000, maxBufferedBytes: highWater },
    stats,
  );
  // The host hands /grpc-ws/ over whole, token check included.
  const authorized = (req: IncomingMessage) =>
    tokenMatches(
      { token, allowOrigins: [] },
      presentedToken(req, parseTarget(req.url) ?? new URL('http://localhost/')),
    );
  const UNAUTHORIZED = 'a valid token is required (Authorization: Bearer <token>, or ?token=)';
  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    stats.opened();
    ws.on('close', () => stats.closed());
    ws.on('error', () => stats.errors++);
    const pathname = parseTarget(req.url)?.pathname ?? '/'; // the host refused a target that is not a path
    const method = methodOfPath(pathname, BRIDGE_PATH);
    const lease = upstream.lease();
    ws.on('close', lease.release);
    new BridgedCall(
      ws,
      req.socket,
      lease.client,
      method ?? pathname.slice(BRIDGE_PATH.length),
      method ? (kinds.get(method) ?? null) : null,
      opts.maxMessageBytes,
      highWater,
      token,
    );
  });
  host.delegate(`${BRIDGE_PATH}/`, {
    request: (req, res) => {
      if (!authorized(req)) {
        stats.errors++;
        return sendJson(res, 401, { error: UNAUTHORIZED }, { 'www-authenticate': 'Bearer' });
      }
      sendJson(res, 426, {
        error: `${BRIDGE_PATH}/<package.Service>/<Method> is a WebSocket endpoint (subprotocol ${SUBPROTOCOL}): upgrade required`,
      });
    },
    upgrade: (req, socket, head) => {
      if (!authorized(req)) {
        stats.errors++;
        return refuseRaw(socket, 401, UNAUTHORIZED, { 'www-authenticate': 'Bearer' });
      }
      const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      if (!offered.includes(SUBPROTOCOL))
        return refuseRaw(socket, 400, `gRPC over WebSocket needs the subprotocol ${SUBPROTOCOL}`);
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },
  });
  return {
    path: BRIDGE_PATH,
    stop: async () => {
      stopGuard();
      for (const ws of wss.clients) ws.close(CLOSE.GOING_AWAY, closeReason('server shutting down'));
      upstream.close();
    },
  };
}
