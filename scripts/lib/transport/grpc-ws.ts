// gRPC over WebSocket from k6: calls through rtbench's bridge (servers/bridge.ts) on our
// k6/x/ws, with protobuf encoded and decoded in the script by protobufjs (light build; the
// message types come from proto/ as a JSON descriptor made at build time, tools/proto-json.mjs).
// Wire format: improbable-eng's grpc-websockets (contracts/grpc-websockets.ts), the protocol of
// `@improbable-eng/grpc-web`'s WebsocketTransport and grpcwebproxy. One call per connection.
//
// Messages go in and come out shaped as k6/net/grpc shapes them (protojson: uint64 as strings,
// enums as names, bytes as base64 strings), so a scenario can check bridged and direct answers
// the same way. Each response comes with its WebSocket message event's `timestamp` (when k6 read
// the frame, sub-millisecond), not the time in the handler.
import { b64decode, b64encode } from 'k6/encoding';
import { clearTimeout, setTimeout } from 'k6/timers';
import type { WebSocket } from 'k6/x/ws';
import { now } from '../monitor/clock.ts';
import { Root, Type } from 'protobufjs/light';
import protos from 'rtbench:protos';
import { connectTime, errors } from '../monitor/metrics.ts';
import { CLOSE } from '../../../contracts/close-codes.ts';
import { openHeldSocket, type SocketOwner } from './held-socket.ts';
import {
  FINISH_SEND,
  FLAG_DATA,
  FLAG_TRAILER,
  FrameError,
  FrameReader,
  SUBPROTOCOL,
  Status,
  callUrl,
  clientData,
  decodeTrailer,
  encodeFrame,
  encodeHeaderLines,
  statusForClose,
  statusName,
} from '../../../contracts/grpc-websockets.ts';

/** WebSocket readyState: open. */
const OPEN = 1;

const root = Root.fromJSON(protos);
root.resolveAll();

export interface Method {
  /** /package.Service/Method */
  path: string;
  requestType: Type;
  responseType: Type;
  requestStream: boolean;
  responseStream: boolean;
}

/** A method of our contracts, named as k6/net/grpc names it ('package.Service/Method'); throws if unknown. */
export function method(name: string): Method {
  const slash = name.lastIndexOf('/');
  const service = root.lookupService(name.slice(0, slash).replace(/^\//, ''));
  const m = service.methods[name.slice(slash + 1)];
  if (!m) throw new Error(`${name}: no such method in proto/`);
  return {
    path: `/${service.fullName.slice(1)}/${m.name}`,
    requestType: m.resolvedRequestType!,
    responseType: m.resolvedResponseType!,
    requestStream: !!m.requestStream,
    responseStream: !!m.responseStream,
  };
}

// bytes fields travel as base64 strings in the k6 shape. protobufjs's own base64 is plain JS and
// costs ~0.5 ms per 256 bytes in k6's JS runtime (as much as the bridge's whole round trip), so
// they are converted here with k6's native codec. Map fields are left to protobufjs (ours have none).
type Plain = Record<string, unknown>;

/** Applies `convert` to every bytes field of a message of `type`, nested and repeated ones included. */
function mapBytes(type: Type, message: Plain, convert: (value: unknown) => unknown): Plain {
  const out: Plain = { ...message };
  for (const field of type.fieldsArray) {
    const value = out[field.name];
    if (value === undefined || value === null || field.map) continue;
    const one = (v: unknown): unknown =>
      field.type === 'bytes'
        ? convert(v)
        : field.resolvedType instanceof Type && typeof v === 'object'
          ? mapBytes(field.resolvedType, v as Plain, convert)
          : v;
    out[field.name] = field.repeated && Array.isArray(value) ? value.map(one) : one(value);
  }
  return out;
}

const base64ToBytes = (v: unknown) => (typeof v === 'string' ? new Uint8Array(b64decode(v)) : v);
// A decoded bytes field is a view into the message buffer: copy it to its own ArrayBuffer.
const bytesToBase64 = (v: unknown) => (v instanceof Uint8Array ? b64encode(v.slice().buffer as ArrayBuffer) : v);

/** A request as a ready-to-send WebSocket message (0x00 + its frame): encode ahead of the timed send where it matters. */
export function requestFrame(m: Method, message: object): Uint8Array {
  const body = m.requestType
    .encode(m.requestType.fromObject(mapBytes(m.requestType, message as Plain, base64ToBytes)))
    .finish();
  return clientData(encodeFrame(FLAG_DATA, body));
}

/** The request headers: what improbable's client sends, then the call's metadata. */
const headers = (metadata: Record<string, string>) =>
  encodeHeaderLines([['content-type', 'application/grpc-web+proto'], ['x-grpc-web', '1'], ...Object.entries(metadata)]);

/** A response body in the k6 shape (see the header). */
function decodeResponse<T>(m: Method, body: Uint8Array): T {
  const plain = m.responseType.toObject(m.responseType.decode(body), { longs: String, enums: String, defaults: true });
  return mapBytes(m.responseType, plain, bytesToBase64) as T;
}

export interface CallStatus {
  code: number;
  /** k6's spelling of the code: 'OK', 'InvalidArgument', … */
  status: string;
  message: string;
  /** When the call ended (the close event's timestamp). */
  atMs: number;
  /**
   * The connection went before the trailer without either side refusing a message: it never
   * opened (refused, unreachable), was cut (close 1006, no close frame), or the bridge went away
   * (1001); or the trailer said UNAVAILABLE (the server cut the call: POST /grpc/drop). Opening
   * the call again may succeed.
   */
  lost: boolean;
}

export interface Call {
  /** Sends a request (an object, or a message from requestFrame). */
  send(request: object | Uint8Array): void;
  /** Half-closes (the finish-send): no more requests. */
  end(): void;
  /** Resolves when the connection has closed, with the trailer's status (or why there was none). */
  readonly ended: Promise<CallStatus>;
  /** CallOptions.context: the caller's state for handlers shared by many calls. */
  readonly context: unknown;
}

export interface CallHandlers<T> {
  /** The connection is open and the header sent; `atMs` is the open event's timestamp. */
  onOpen(call: Call, atMs: number): void;
  /** A response, with the timestamp of the message event that carried it. */
  onMessage?(message: T, atMs: number, call: Call): void;
  /** The call ended (when `ended` resolves, without a promise per call). */
  onEnd?(status: CallStatus, call: Call): void;
}

export interface CallOptions {
  /** Bounds the call: then the socket is closed and the status is DeadlineExceeded. */
  timeoutMs?: number;
  metadata?: Record<string, string>;
  /** Record rtb_connect_time for this call's connection (default true). */
  recordConnect?: boolean;
  /** A lost connection (CallStatus.lost) is left out of rtb_errors: the caller opens the call again. */
  resumable?: boolean;
  /** Given back as `call.context`, for handlers shared by many calls (the hold's thousands). */
  context?: unknown;
}

const NO_METADATA: Record<string, string> = {};

/**
 * Opens one call to the bridge at `wsOrigin` (e.g. ws://127.0.0.1:8080). rtb_connect_time is
 * recorded per call (its connection); a non-OK end in rtb_errors, tagged `grpc <status>` as for
 * direct gRPC.
 */
export function openCall<T>(
  wsOrigin: string,
  m: Method,
  handlers: CallHandlers<T>,
  { timeoutMs = 60_000, metadata = NO_METADATA, recordConnect = true, resumable = false, context }: CallOptions = {},
): Call {
  return new BridgeCall(wsOrigin, m, handlers, timeoutMs, metadata, recordConnect, resumable, context);
}

// A held call costs k6 memory for as long as it lives (the hold workload keeps thousands per VU),
// and in k6's JavaScript runtime every function object and promise is several hundred bytes: a
// call is one object whose methods take its socket's events (held-socket.ts), its deadline timer
// calls a shared function, and its `ended` promise is made only if someone asks for it.
class BridgeCall<T> implements Call, SocketOwner {
  private trailer: { code: number; message: string } | null = null;
  private problem: { code: number; message: string } | null = null;
  private wasOpened = false;
  private status: CallStatus | null = null;
  private endedPromise: Promise<CallStatus> | null = null;
  private settle: ((s: CallStatus) => void) | null = null;
  // Frames need not align with messages (grpcwebproxy splits a 0x80 frame in two): read a stream.
  private readonly reader = new FrameReader(Number.MAX_SAFE_INTEGER);
  private readonly started = now();
  private readonly ws: WebSocket;
  private readonly deadline: ReturnType<typeof setTimeout>;

  constructor(
    wsOrigin: string,
    private readonly m: Method,
    private readonly handlers: CallHandlers<T>,
    private readonly timeoutMs: number,
    private readonly metadata: Record<string, string>,
    private readonly recordConnect: boolean,
    private readonly resumable: boolean,
    readonly context: unknown,
  ) {
    this.ws = openHeldSocket(callUrl(wsOrigin, m.path), this, SUBPROTOCOL);
    this.deadline = setTimeout(expire, timeoutMs, this);
  }

  get ended(): Promise<CallStatus> {
    this.endedPromise ??= this.status
      ? Promise.resolve(this.status)
      : new Promise<CallStatus>((resolve) => (this.settle = resolve));
    return this.endedPromise;
  }

  send(request: object | Uint8Array): void {
    this.sendOpen((request instanceof Uint8Array ? request : requestFrame(this.m, request)).buffer as ArrayBuffer);
  }

  end(): void {
    this.sendOpen(FINISH_SEND.slice().buffer as ArrayBuffer);
  }

  /** The deadline passed without a trailer. */
  expire(): void {
    this.fail(Status.DEADLINE_EXCEEDED, `no trailer within ${this.timeoutMs} ms`);
  }

  // A message for a connection that is already going is dropped, as the network would drop it (a
  // timer may fire between the connection's loss and its close event): the call ends without a trailer.
  private sendOpen(message: ArrayBuffer): void {
    if (this.ws.readyState === OPEN) this.ws.send(message);
  }

  /** Ends the call with `code`; a handshake under way (a deadline before it ended) is abandoned. */
  private fail(code: number, message: string): void {
    this.problem ??= { code, message };
    this.ws.close();
  }

  /** SocketOwner: a lost connection is the caller's to retry when the call is resumable. */
  get countsDrops(): boolean {
    return !this.resumable;
  }

  /** SocketOwner: the connection is open: the header goes out, then the caller's requests. */
  opened(atMs: number): void {
    this.wasOpened = true;
    if (this.recordConnect) connectTime.add(atMs - this.started);
    this.ws.send(headers(this.metadata).buffer as ArrayBuffer);
    this.handlers.onOpen(this, atMs);
  }

  /** SocketOwner: bytes from the bridge. */
  message(data: string | ArrayBuffer, atMs: number): void {
    if (this.trailer || this.problem) return;
    if (!(data instanceof ArrayBuffer)) return this.fail(Status.INTERNAL, 'the bridge sent a text message');
    try {
      for (const frame of this.reader.push(new Uint8Array(data))) {
        // A 0x80 frame with grpc-status is the trailer; one without it, the response headers.
        if (frame.flag === FLAG_TRAILER) this.trailer = decodeTrailer(frame.body);
        else if (frame.flag === FLAG_DATA && !this.trailer)
          this.handlers.onMessage?.(decodeResponse<T>(this.m, frame.body), atMs, this);
        else return this.fail(Status.INTERNAL, `the bridge sent a frame with flag 0x${frame.flag.toString(16)}`);
      }
    } catch (err) {
      this.fail(
        Status.INTERNAL,
        err instanceof FrameError
          ? `bad frame from the bridge: ${err.message}`
          : `response is not a valid ${this.m.responseType.name}: ${String(err)}`,
      );
    }
  }

  /** SocketOwner: the connection closed: the call's status. */
  closed(code: number, reason: string, atMs: number): void {
    clearTimeout(this.deadline);
    const end = this.problem ??
      this.trailer ?? {
        code: statusForClose(code),
        message: `connection closed before the trailer: ${code} ${reason}`,
      };
    const lost =
      !this.problem &&
      (this.trailer
        ? this.trailer.code === Status.UNAVAILABLE
        : !this.wasOpened || code === CLOSE.ABNORMAL || code === CLOSE.GOING_AWAY);
    const status = { ...end, status: statusName(end.code), atMs, lost };
    if (end.code !== Status.OK && !(lost && this.resumable)) errors.add(1, { reason: `grpc ${status.status}` });
    this.status = status;
    this.handlers.onEnd?.(status, this);
    this.settle?.(status);
  }
}

/** A call's deadline timer (one shared callback, the call as its argument). */
function expire(call: BridgeCall<unknown>): void {
  call.expire();
}

export interface CallResult<T> {
  responses: Array<{ message: T; atMs: number }>;
  status: CallStatus;
  /** When the requests went out: now() (k6/x/measure), no earlier than the open event's timestamp. */
  sentAtMs: number;
}

/**
 * One whole call: opens it, sends every request and the half-close at once, and collects the
 * responses with their timestamps until the trailer. Requests are encoded before the connection
 * opens, so sentAtMs is not delayed by encoding.
 */
export function call<T>(
  wsOrigin: string,
  m: Method,
  requests: object[],
  opts: Pick<CallOptions, 'timeoutMs' | 'metadata'> = {},
): Promise<CallResult<T>> {
  const frames = requests.map((r) => requestFrame(m, r));
  const responses: CallResult<T>['responses'] = [];
  let sentAtMs = 0;
  const c = openCall<T>(
    wsOrigin,
    m,
    {
      onOpen: (call, atMs) => {
        sentAtMs = Math.max(now(), atMs);
        for (const f of frames) call.send(f);
        call.end();
      },
      onMessage: (message, atMs) => responses.push({ message, atMs }),
    },
    opts,
  );
  return c.ended.then((status) => ({ responses, status, sentAtMs }));
}

/** How long a resumable call keeps reopening without a response before it gives up, ms. */
const RECONNECT_FOR_MS = 30_000;

export interface ResumableHandlers<T> extends CallHandlers<T> {
  /** The connection was lost at `atMs` (an open failed to reopen it, too); the call will be opened again. */
  onLost(atMs: number): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A call that outlives its connection: opens `m` at `wsOrigin` and, whenever the connection is
 * lost (CallStatus.lost: cut, refused while the network is down, or ended UNAVAILABLE), tells
 * `onLost` and opens the call again after a backoff of 100 ms doubling to 2 s (back to 100 ms once
 * an opening has delivered a response); it gives up 30 s after the last response. `onOpen` runs for
 * every opening, with that opening's Call: the caller sends again whatever must be resumed. A lost
 * connection counts in rtb_errors only when the call gives up; rtb_connect_time is the first
 * opening's. `timeoutMs` bounds the whole call, openings included. Resolves with the last opening's status.
 */
export async function resumableCall<T>(
  wsOrigin: string,
  m: Method,
  handlers: ResumableHandlers<T>,
  { timeoutMs = 60_000, metadata = {} }: Pick<CallOptions, 'timeoutMs' | 'metadata'> = {},
): Promise<CallStatus> {
  const until = now() + timeoutMs;
  let lastResponse = now();
  for (let opening = 0, attempt = 0; ; opening++, attempt++) {
    const onMessage = (message: T, atMs: number, call: Call) => {
      lastResponse = atMs;
      attempt = 0;
      handlers.onMessage?.(message, atMs, call);
    };
    const options = { timeoutMs: Math.max(1, until - now()), metadata, recordConnect: opening === 0, resumable: true };
    const status = await openCall<T>(wsOrigin, m, { onOpen: handlers.onOpen, onMessage }, options).ended;
    if (!status.lost) return status;
    handlers.onLost(status.atMs);
    const backoff = Math.min(100 * 2 ** attempt, 2000);
    if (now() + backoff >= Math.min(until, lastResponse + RECONNECT_FOR_MS)) {
      errors.add(1, { reason: `grpc ${status.status}` });
      return status;
    }
    await sleep(backoff);
  }
}
