// gRPC plumbing shared by our services: loading the contracts in proto/, decoding requests
// ourselves so that bytes that are not valid protobuf get INVALID_ARGUMENT (grpc-js would say
// INTERNAL) on every call kind, streaming responses that honour backpressure, and
// binding/stopping a server.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { statsFor } from './stats.ts';
import { StrictWire, WireError } from './proto-strict.ts';

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The repo's proto/ folder, found by walking up from this file (works from dist/ and from a container). */
export function protoDir(): string {
  if (process.env.RTBENCH_PROTO_DIR) return process.env.RTBENCH_PROTO_DIR;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'proto', 'image.proto'))) return join(dir, 'proto');
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the proto/ folder; set RTBENCH_PROTO_DIR');
    dir = up;
  }
}

export function loadProtos(files: string[]): protoLoader.PackageDefinition {
  return protoLoader.loadSync(files, { ...LOADER_OPTIONS, includeDirs: [protoDir()] });
}

export function serviceDefinition(pkg: protoLoader.PackageDefinition, name: string): grpc.ServiceDefinition {
  const def = pkg[name];
  // proto-loader maps message and enum names to type definitions (they carry a `format`).
  if (!def || 'format' in def) throw new Error(`service ${name} not found in the loaded protos`);
  return def as grpc.ServiceDefinition;
}

export class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

type Decode = (buf: Buffer) => unknown;
type StreamingResponse = grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

const stats = statsFor('grpc');

/**
 * Returns the service definition with request decoding moved into the handlers, and the
 * handlers wrapped so that an undecodable request is answered with INVALID_ARGUMENT naming the
 * message type, and a thrown RpcError with its own code. Every kind keeps grpc-js's handler
 * signature and sees decoded requests: unary and server-streaming handlers in `call.request`,
 * client- and bidi-streaming handlers as the call's 'data' events. On a request stream the first
 * undecodable message ends the call. Messages and bytes in both directions are counted in the
 * 'grpc' stats here (whole protobuf messages, as the WebSocket stats count whole frames).
 * Messages over the maximum size never reach us: grpc-js answers RESOURCE_EXHAUSTED.
 */
export function strictService(
  def: grpc.ServiceDefinition,
  impl: grpc.UntypedServiceImplementation,
  wire?: StrictWire,
): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] {
  const rawDef: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const wrapped: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(def)) {
    const typeName = (method as { requestType?: { type?: { name?: string } } }).requestType?.type?.name ?? 'request';
    // /rtbench.orders.v1.OrderService/CreateOrder → rtbench.orders.v1.CreateOrderRequest
    const service = method.path.split('/')[1] ?? '';
    const fullType = `${service.slice(0, service.lastIndexOf('.'))}.${typeName}`;
    const decode: Decode = (buf: Buffer) => {
      stats.received(buf.length);
      try {
        wire?.check(fullType, buf);
        return method.requestDeserialize(buf);
      } catch (err) {
        const why = err instanceof WireError ? err.message : (err as Error).message;
        throw new RpcError(grpc.status.INVALID_ARGUMENT, `${typeName} is not valid protobuf: ${why}`);
      }
    };
    const serialize = (value: unknown) => {
      const buf = method.responseSerialize(value);
      stats.sent(buf.length);
      return buf;
    };
    rawDef[name] = { ...method, requestDeserialize: (buf: Buffer) => buf, responseSerialize: serialize };
    const handler = impl[name];
    if (handler) wrapped[name] = strictHandler(method, handler, decode);
  }
  return [rawDef as grpc.ServiceDefinition, wrapped];
}

/** Ends a streaming call in flight with UNAVAILABLE (shutdown); registered while the call runs. */
const inFlight = new Set<() => void>();
const UNAVAILABLE = { code: grpc.status.UNAVAILABLE, details: 'server shutting down' };

function track(call: NodeJS.EventEmitter, abort: () => void): () => void {
  inFlight.add(abort);
  const done = () => inFlight.delete(abort);
  call.once('cancelled', done);
  call.once('finish', done);
  call.once('close', done);
  return done;
}

/** Shutdown: every streaming call still running ends with UNAVAILABLE (not CANCELLED), so clients know to retry elsewhere. */
export function endCallsInFlight(): number {
  const n = inFlight.size;
  for (const abort of [...inFlight]) abort();
  inFlight.clear();
  return n;
}

function strictHandler(
  method: grpc.MethodDefinition<unknown, unknown>,
  handler: grpc.UntypedHandleCall,
  decode: Decode,
): grpc.UntypedHandleCall {
  if (!method.requestStream && !method.responseStream) {
    return (call: grpc.ServerUnaryCall<Buffer, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      try {
        (call as { request: unknown }).request = decode(call.request);
        (handler as grpc.handleUnaryCall<unknown, unknown>)(
          call as grpc.ServerUnaryCall<unknown, unknown>,
          (err, value) => {
            if (err) stats.errors++;
            callback(err, value);
          },
        );
      } catch (err) {
        stats.errors++;
        callback(toServiceError(err));
      }
    };
  }
  if (!method.requestStream) {
    return (call: grpc.ServerWritableStream<Buffer, unknown>) => {
      track(call, () => call.emit('error', UNAVAILABLE));
      try {
        (call as { request: unknown }).request = decode(call.request);
        (handler as grpc.handleServerStreamingCall<unknown, unknown>)(
          call as grpc.ServerWritableStream<unknown, unknown>,
        );
      } catch (err) {
        endWithError(call, err);
      }
    };
  }
  if (!method.responseStream) {
    return (call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      let answered = false;
      const untrack = track(call, () => answer(UNAVAILABLE));
      const answer: grpc.sendUnaryData<unknown> = (err, value) => {
        if (answered) return;
        answered = true;
        untrack();
        if (err) stats.errors++;
        callback(err, value);
      };
      decodeEach(call, decode, (err) => answer(toServiceError(err)));
      try {
        (handler as grpc.handleClientStreamingCall<unknown, unknown>)(call, answer);
      } catch (err) {
        answer(toServiceError(err));
      }
    };
  }
  return (call: grpc.ServerDuplexStream<unknown, unknown>) => {
    track(call, () => call.emit('error', UNAVAILABLE));
    decodeEach(call, decode, (err) => endWithError(call, err));
    try {
      (handler as grpc.handleBidiStreamingCall<unknown, unknown>)(call);
    } catch (err) {
      endWithError(call, err);
    }
  };
}

/**
 * Decodes each request message as grpc-js hands it to the call (it feeds request streams with
 * `push`). The first one that fails to decode, or whose 'data' listener throws synchronously,
 * stops reading and goes to `fail`; nothing further is pushed, not even the end of the stream.
 */
function decodeEach(call: Readable, decode: Decode, fail: (err: unknown) => void): void {
  const push = call.push.bind(call);
  let failed = false;
  call.push = (chunk: unknown) => {
    if (failed) return false;
    try {
      return push(chunk === null ? null : decode(chunk as Buffer));
    } catch (err) {
      failed = true;
      fail(err);
      return false;
    }
  };
}

/** Ends a call that streams responses with the error's status, after the messages already written. */
export function endWithError(call: StreamingResponse, err: unknown): void {
  stats.errors++;
  call.emit('error', toServiceError(err));
}

/** Bytes of responses one call may queue before `write()` says wait (16 messages, as grpc-js allows, would be 16 maximum-size messages). */
export const MAX_QUEUED_RESPONSE_BYTES = 4 * 1024 * 1024;

/** Lowers an object-mode response stream's high-water mark so that what it queues stays near MAX_QUEUED_RESPONSE_BYTES. */
export function boundWrites(call: object, messageBytes: number): void {
  const state = (call as unknown as { _writableState?: { highWaterMark: number } })._writableState;
  if (state)
    state.highWaterMark = Math.max(1, Math.min(16, Math.floor(MAX_QUEUED_RESPONSE_BYTES / Math.max(1, messageBytes))));
}

/**
 * Writes `count` messages made by `make(seq)` (seq = 1..count) to a server stream, `intervalMs`
 * apart (0 = as fast as the client takes them), then ends it. Honours backpressure: when
 * `write()` returns false nothing more is made until 'drain', so at most the stream's own buffer
 * is queued. Stops (timer cleared) when the call is cancelled or fails.
 */
export function paceStream(
  call: grpc.ServerWritableStream<unknown, unknown>,
  count: number,
  intervalMs: number,
  make: (seq: number) => unknown,
  afterSeq = 0,
  messageBytes = 0,
): void {
  boundWrites(call, messageBytes);
  let seq = afterSeq; // a resumed stream goes on after the last message its client saw
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
  };
  call.once('cancelled', stop);
  call.once('error', stop);
  const wait = () => {
    timer = setTimeout(pump, intervalMs);
  };
  const pump = () => {
    while (!stopped && seq < count) {
      const writable = call.write(make(++seq));
      if (seq === count) break;
      if (!writable) return void call.once('drain', intervalMs > 0 ? wait : pump);
      if (intervalMs > 0) return wait();
    }
    if (stopped) return;
    stopped = true;
    call.end();
  };
  pump();
}

/**
 * Answers every message of a bidi stream with `reply(message)`, in order, and ends the stream
 * when the client does. Backpressure runs both ways: while the response buffer is full the call
 * stops reading requests (so the client's writes wait on HTTP/2 flow control). A reply that
 * throws (e.g. an RpcError for a semantically bad message) ends the call with its status.
 */
export function replyEach<Req, Res>(call: grpc.ServerDuplexStream<Req, Res>, reply: (message: Req) => Res): void {
  let failed = false;
  call.on('data', (message: Req) => {
    if (failed) return;
    let response: Res;
    try {
      response = reply(message);
    } catch (err) {
      failed = true;
      return endWithError(call as grpc.ServerDuplexStream<unknown, unknown>, err);
    }
    boundWrites(call, roughBytes(response)); // large replies: fewer may wait for a slow reader
    if (!call.write(response)) {
      call.pause();
      call.once('drain', () => call.resume());
    }
  });
  call.on('end', () => {
    if (!failed) call.end();
  });
}

/** About how many bytes a response object serialises to: its top-level bytes and strings (payloads), plus a little per field. */
function roughBytes(message: unknown): number {
  if (typeof message !== 'object' || message === null) return 16;
  let n = 0;
  for (const v of Object.values(message)) n += Buffer.isBuffer(v) || typeof v === 'string' ? v.length : 8;
  return n;
}

export function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof RpcError) return { code: err.code, details: err.message };
  return { code: grpc.status.INTERNAL, details: `internal error: ${(err as Error)?.message ?? String(err)}` };
}

/** A server interceptor that answers UNAUTHENTICATED unless the call's `authorization` metadata is `Bearer <token>` (reflection included). */
export function requireToken(matches: (presented: string | null) => boolean): grpc.ServerInterceptor {
  return (_method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            const header = metadata.get('authorization')[0];
            const m = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
            if (matches(m ? m[1]! : null)) return mdNext(metadata);
            stats.errors++;
            call.sendStatus({
              code: grpc.status.UNAUTHENTICATED,
              details: 'a valid token is required (metadata authorization: Bearer <token>)',
              metadata: new grpc.Metadata(),
            });
          },
        }),
    });
}

/**
 * Connections that never send the HTTP/2 preface (or a first SETTINGS frame) within
 * `handshakeMs` are cut. grpc-js has no option for this, so we watch the node:http2 servers it
 * created (its own `http2Servers` map, read after bind; without it, the guard is skipped).
 */
export function guardHandshakes(server: grpc.Server, handshakeMs: number): boolean {
  const servers = (server as unknown as { http2Servers?: Map<NodeJS.EventEmitter, unknown> }).http2Servers;
  if (!(servers instanceof Map)) return false;
  for (const h2 of servers.keys()) {
    h2.on('session', (session: import('node:http2').ServerHttp2Session) => {
      const timer = setTimeout(() => {
        stats.errors++;
        session.destroy();
      }, handshakeMs);
      timer.unref();
      session.once('remoteSettings', () => clearTimeout(timer));
      session.once('close', () => clearTimeout(timer));
    });
  }
  return true;
}

export function bind(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
}

/** Ends streaming calls with UNAVAILABLE, lets unary calls in flight finish for up to `graceMs`, then cancels what is left. */
export function shutdown(server: grpc.Server, graceMs = 2000): Promise<void> {
  endCallsInFlight();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
