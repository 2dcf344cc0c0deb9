// gRPC over WebSocket (seed 003): a bridge at /grpc-ws that takes gRPC calls framed over a
// WebSocket and forwards them to a gRPC server (by default this process's own), streaming in
// every direction. The wire format is in contracts/grpc-ws-frames.ts; in short: one call per
// connection; the first message is a text header, the method path plus optional `name: value`
// metadata lines; then one gRPC-Web frame (flag byte, 4-byte big-endian length, protobuf) per
// binary message; the client half-closes with an empty 0x02 frame (a unary or server-streaming
// call starts there, with its one request; request streams are forwarded as they arrive); the
// bridge answers with 0x00 response frames, ends with a 0x80 trailer (`grpc-status`,
// `grpc-message`) and closes 1000.
//
// The bridge never decodes protobuf: it forwards bytes with grpc-js's generic client (identity
// serializers), so it serves any method of the contracts in proto/, whose streaming kind it reads
// from them. Invalid protobuf reaches the gRPC server, which answers INVALID_ARGUMENT, relayed in
// the trailer.
//
// Refused input gets a trailer with its status, then a close with a reason:
//   unknown method                              UNIMPLEMENTED       1000 (a normal gRPC answer)
//   first message not a text header, bad header,
//   a text message after it, a truncated frame, a length that disagrees with the message, a
//   second request on a unary or server-streaming call, a request after the half-close
//                                               INVALID_ARGUMENT    1007
//   a compressed frame (flag 0x01)              UNIMPLEMENTED       1007
//   a frame announcing more than the maximum message size
//                                               RESOURCE_EXHAUSTED  1009
//   A WebSocket message larger than a maximum-size frame is refused by ws itself: close 1009,
//   no trailer. A refused call is cancelled upstream; the bridge keeps serving.
//
// Backpressure, both ways: while the gRPC request stream is full the bridge stops reading the
// WebSocket (ws.pause(), so TCP pushes back on the client), and while more than HIGH_WATER_BYTES
// of responses wait to be written to the socket it stops reading the gRPC response stream (so
// HTTP/2 flow control pushes back on the server). Nothing is buffered without bound.
//
// Limits: the header must come within handshakeMs, a call with no message either way for idleMs
// is closed 1008, and the heartbeat cuts peers that stop answering pings. With a token, the
// upgrade needs it (Authorization header or ?token=), and the bridge passes it upstream as
// `authorization` metadata unless the client's header names its own.
//
// Stats: connections and WebSocket messages/bytes (frames with their prefix, headers and
// trailers included) as protocol 'grpc-ws'. The forwarded calls also show in 'grpc', counted by
// the gRPC server as it would count any client.
import * as grpc from '@grpc/grpc-js';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { readdirSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HttpHost } from './lib/http.ts';
import { CLOSE, closeReason } from '../contracts/close-codes.ts';
import { guardWebSockets, touch } from './lib/ws-guard.ts';
import { loadProtos, protoDir } from './lib/grpc.ts';
import { statsFor } from './lib/stats.ts';
import {
  BRIDGE_PATH,
  CLOSE_INVALID_DATA,
  CLOSE_NORMAL,
  FLAG_COMPRESSED,
  FLAG_DATA,
  FLAG_HALF_CLOSE,
  FrameError,
  PREFIX_BYTES,
  Status,
  decodeFrame,
  encodeFrame,
  encodeTrailer,
  parseHeader,
  statusName,
} from '../contracts/grpc-ws-frames.ts';

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
  /** Sent upstream as `authorization: Bearer <token>` when the client's header has no authorization. */
  token?: string;
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

/** One WebSocket connection carrying one call. */
class BridgedCall {
  private header = false;
  private path = '';
  private kind: MethodKind | null = null;
  private readonly metadata = new grpc.Metadata();
  private call: Call | null = null;
  /** A unary or server-streaming call's one request, held until the half-close starts the call. */
  private single: Buffer | null = null;
  private halfClosed = false;
  private done = false;
  private readingPaused = false;
  private responsesPaused = false;
  private unsentBytes = 0;
  private corked = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly client: grpc.Client,
    private readonly kinds: Map<string, MethodKind>,
    private readonly maxMessageBytes: number,
    private readonly highWater: number,
    private readonly token: string,
  ) {
    ws.on('message', (data, isBinary) => this.onMessage(toBuffer(data), isBinary));
    ws.on('close', () => {
      // The client went away (or we closed after the trailer): nothing more to forward.
      if (!this.done) {
        this.done = true;
        this.call?.cancel();
      }
    });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    stats.received(data.length);
    if (this.done) return;
    try {
      if (!this.header) return this.onHeader(data, isBinary);
      if (!isBinary) throw invalid('after the header every message must be binary: one length-prefixed frame each');
      const frame = decodeFrame(data, this.maxMessageBytes);
      if (frame.flag === FLAG_DATA)
        this.onRequest(Buffer.from(frame.body.buffer, frame.body.byteOffset, frame.body.length));
      else if (frame.flag === FLAG_HALF_CLOSE) this.onHalfClose(frame.body.length);
      else if (frame.flag === FLAG_COMPRESSED)
        throw new FrameError(
          Status.UNIMPLEMENTED,
          CLOSE_INVALID_DATA,
          'compressed frames (flag 0x01) are not supported',
        );
      else
        throw invalid(
          `unknown frame flag 0x${frame.flag.toString(16).padStart(2, '0')} (requests are 0x00, the half-close 0x02)`,
        );
    } catch (err) {
      stats.errors++;
      if (err instanceof FrameError) this.finish(err.status, err.message, err.closeCode, err.message);
      else
        this.finish(Status.INTERNAL, `bridge error: ${(err as Error)?.message ?? String(err)}`, CLOSE.INTERNAL_ERROR);
    }
  }

  private onHeader(data: Buffer, isBinary: boolean): void {
    if (isBinary) throw invalid('the first message must be a text header naming the method (/package.Service/Method)');
    const { path, metadata } = parseHeader(data.toString('utf8'));
    for (const [name, value] of metadata) {
      try {
        this.metadata.add(name, value);
      } catch (err) {
        throw invalid(`header ${name}: ${(err as Error).message}`);
      }
    }
    if (this.token !== '' && this.metadata.get('authorization').length === 0)
      this.metadata.set('authorization', `Bearer ${this.token}`);
    this.header = true;
    this.path = path;
    this.kind = this.kinds.get(path) ?? null;
    if (!this.kind) return this.finish(Status.UNIMPLEMENTED, `unknown method ${path}`, CLOSE_NORMAL);
    // Streams of requests start now; a single request starts its call at the half-close.
    if (this.kind.requestStream) this.start(null);
  }

  private onRequest(body: Buffer): void {
    if (this.halfClosed) throw invalid('request frame after the half-close');
    if (this.kind!.requestStream) return this.write(body);
    if (this.single) throw invalid(`${this.path} takes exactly one request; a second one came`);
    this.single = body;
  }

  private onHalfClose(length: number): void {
    if (length !== 0) throw invalid(`half-close frame must be empty, it carries ${length} bytes`);
    if (this.halfClosed) throw invalid('second half-close');
    this.halfClosed = true;
    if (this.kind!.requestStream) {
      (this.call as grpc.ClientWritableStream<Buffer>).end();
      return;
    }
    if (!this.single) throw invalid(`${this.path} takes exactly one request; the half-close came first`);
    this.start(this.single);
    this.single = null;
  }

  private start(request: Buffer | null): void {
    const { requestStream, responseStream } = this.kind!;
    const answer = (_err: grpc.ServiceError | null, value?: Buffer) => {
      if (value) this.respond(value); // an error arrives as the status, below
    };
    let call: Call;
    if (!requestStream && !responseStream)
      call = this.client.makeUnaryRequest(this.path, same, same, request!, this.metadata, {}, answer);
    else if (requestStream && !responseStream)
      call = this.client.makeClientStreamRequest(this.path, same, same, this.metadata, {}, answer);
    else {
      const stream = requestStream
        ? this.client.makeBidiStreamRequest(this.path, same, same, this.metadata, {})
        : this.client.makeServerStreamRequest(this.path, same, same, request!, this.metadata, {});
      // A paused object-mode stream still reads ahead up to its high-water mark (16 messages, up to
      // 16 maximum-size messages per call): keep one, so pausing really bounds what is held.
      (stream as unknown as { _readableState: { highWaterMark: number } })._readableState.highWaterMark = 1;
      stream.on('data', (message: Buffer) => this.respond(message));
      stream.on('error', () => {}); // a failed call ends with its status, below
      call = stream;
    }
    // grpc-js reports the status after the last message (and after a unary answer's callback).
    call.on('status', (s: grpc.StatusObject) => this.finish(s.code, s.details, CLOSE_NORMAL));
    this.call = call;
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

  /** Sends the trailer and closes; a call still running (refused input) is cancelled upstream (after its status, cancel does nothing). */
  private finish(code: number, message: string, closeCode: number, reason = statusName(code)): void {
    if (this.done) return;
    this.done = true;
    this.call?.cancel();
    this.send(encodeTrailer(code, message));
    // A paused socket would never read the client's close frame.
    this.resumeReading();
    this.ws.close(closeCode, closeReason(reason));
  }
}

/** Mounts the bridge at /grpc-ws on `host`; `stop` closes its connection to the gRPC server. */
export function mountBridge(host: HttpHost, opts: BridgeOptions): { path: string; stop: () => Promise<void> } {
  const kinds = methodKinds();
  const client = new grpc.Client(opts.target, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': opts.maxMessageBytes,
    'grpc.max_receive_message_length': opts.maxMessageBytes,
  });
  // A WebSocket message holds one frame: the prefix plus at most a maximum-size message.
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes + PREFIX_BYTES });
  const highWater = opts.maxBufferedBytes ?? HIGH_WATER_BYTES;
  const stopGuard = guardWebSockets(
    wss,
    { idleMs: opts.idleMs ?? 120_000, handshakeMs: opts.handshakeMs ?? 10_000, maxBufferedBytes: highWater },
    stats,
  );
  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    stats.opened();
    ws.on('close', () => stats.closed());
    ws.on('error', () => stats.errors++);
    new BridgedCall(ws, req.socket, client, kinds, opts.maxMessageBytes, highWater, opts.token ?? '');
  });
  host.webSocket(BRIDGE_PATH, wss);
  return {
    path: BRIDGE_PATH,
    stop: async () => {
      stopGuard();
      client.close();
    },
  };
}
