// gRPC over WebSocket as the ecosystem speaks it: improbable-eng's `grpc-websockets` protocol,
// the one `@improbable-eng/grpc-web`'s WebsocketTransport and its grpcwebproxy use. Shared by
// rtbench's bridge (servers/bridge.ts), the k6 client (scripts/lib/transport/grpc-ws.ts) and the tests.
// Pure: no k6 or Node APIs. Written from reading their client (transports/websocket) and Go
// wrapper (grpcweb/websocket_wrapper.go); nothing is copied.
//
// One gRPC call per WebSocket connection:
//   URL          ws://host:port/grpc-ws/<package.Service>/<Method> (grpcwebproxy serves the same
//                without the /grpc-ws prefix; improbable's client appends /<service>/<method> to
//                the host it is given, so its host here is http://host:port/grpc-ws)
//   subprotocol  grpc-websockets (the bridge refuses an upgrade that does not offer it: HTTP 400)
//   client → server, every message BINARY:
//     1. first message: the request headers as HTTP header lines, ASCII, `name: value\r\n` each
//        (improbable's client sends content-type and x-grpc-web, then the call's metadata;
//        several values of one name are joined with ", ")
//     2. a data message: one byte 0x00, then bytes of the gRPC request stream: gRPC-Web frames,
//        each 1 flag byte | 4-byte big-endian length | protobuf message (improbable's client
//        sends exactly one frame per message; a frame may also span messages)
//     3. finish-send: the single byte 0x01: the client has no more requests (half-close)
//   server → client, every message BINARY, together the bytes of a gRPC-Web response body:
//     a headers frame (flag 0x80, body: the response headers as `name: value\r\n` lines), data
//     frames (flag 0x00), and last a trailer frame (flag 0x80) with `grpc-status` and a
//     percent-encoded `grpc-message`; a call that fails before any response sends one 0x80 frame
//     holding headers and status together (trailers-only). Then the server closes the
//     connection (rtbench's bridge: 1000 when the gRPC server gave the status, 1007 for framing
//     it refused, 1009 for a message over the size limit). A client tells the trailer from the
//     headers by `grpc-status`, and must not assume frames align with WebSocket messages
//     (grpcwebproxy sends a 0x80 frame's prefix and body as two messages).
// Unary and server-streaming calls start when the request and the finish-send are in; client-
// streaming and bidi calls start with the headers, each request forwarded as it arrives. Closing
// the WebSocket before the trailer cancels the call.

export const SUBPROTOCOL = 'grpc-websockets';
/** Our bridge serves calls under this path prefix: ws://host:port/grpc-ws/package.Service/Method. */
export const BRIDGE_PATH = '/grpc-ws';

export const FLAG_DATA = 0x00;
export const FLAG_COMPRESSED = 0x01;
/** A headers or trailer frame (the most significant bit of the flag byte set). */
export const FLAG_TRAILER = 0x80;
export const PREFIX_BYTES = 5;

/** The first byte of a client data message; a finish-send message is the single byte 0x01. */
export const CLIENT_DATA = 0x00;
export const CLIENT_FINISH_SEND = 0x01;

/** Request headers beyond this many bytes are refused (gRPC servers allow 8 KiB of metadata by default). */
export const MAX_HEADER_BYTES = 16 * 1024;

/** The gRPC status codes the protocol itself produces. */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** Status names as k6's `grpc.Status*` constants spell them, so rtb_errors reasons match direct gRPC's. */
const STATUS_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

export const statusName = (code: number): string => STATUS_NAMES[code] ?? String(code);

export const CLOSE_NORMAL = 1000;
export const CLOSE_INVALID_DATA = 1007;
export const CLOSE_TOO_BIG = 1009;
const CLOSE_GOING_AWAY = 1001;

/**
 * The status of a call whose connection closed without a trailer, from the close code (as
 * gRPC-Web clients map HTTP statuses): ws itself refuses a message over its size limit with 1009
 * before the bridge can answer.
 */
export function statusForClose(code: number): number {
  if (code === CLOSE_TOO_BIG) return Status.RESOURCE_EXHAUSTED;
  if (code === CLOSE_INVALID_DATA) return Status.INVALID_ARGUMENT;
  if (code === CLOSE_GOING_AWAY) return Status.UNAVAILABLE;
  return Status.UNKNOWN;
}

/** Input a server refuses: the status for the trailer and the close code for the connection. */
export class FrameError extends Error {
  constructor(
    readonly status: number,
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

const invalid = (message: string) => new FrameError(Status.INVALID_ARGUMENT, CLOSE_INVALID_DATA, message);

// ---- the URL ----

const METHOD_PATH = /^\/[A-Za-z_][\w.]*\/[A-Za-z_]\w*$/;

/** The call's URL: `origin` (ws://host:port) + the bridge prefix + /package.Service/Method (the leading '/' optional). */
export function callUrl(origin: string, method: string): string {
  return `${origin}${BRIDGE_PATH}${method.startsWith('/') ? method : `/${method}`}`;
}

/** The method path (/package.Service/Method) of a request path under `prefix`, or null when it names none. */
export function methodOfPath(pathname: string, prefix = BRIDGE_PATH): string | null {
  if (!pathname.startsWith(`${prefix}/`)) return null;
  const path = pathname.slice(prefix.length);
  return METHOD_PATH.test(path) ? path : null;
}

// ---- header blocks: request headers, response headers, trailers ----

const ascii = (text: string): Uint8Array => {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
};

const latin1 = (bytes: Uint8Array): string => {
  let text = '';
  for (let i = 0; i < bytes.length; i += 4096) text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  return text;
};

const PRINTABLE = /^[\x20-\x7e\t]*$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** `name: value\r\n` lines, ASCII; several values of a name are joined with ", " (as improbable's client does). */
export function encodeHeaderLines(fields: Iterable<[string, string | string[]]>): Uint8Array {
  let text = '';
  for (const [name, value] of fields) {
    const joined = Array.isArray(value) ? value.join(', ') : value;
    if (!TOKEN.test(name) || !PRINTABLE.test(joined))
      throw new Error(`header ${JSON.stringify(name)} is not printable ASCII`);
    text += `${name}: ${joined}\r\n`;
  }
  return ascii(text);
}

/** Header lines → [lower-case name, value] pairs, in order. Throws INVALID_ARGUMENT for a line that is not `name: value`. */
export function parseHeaderLines(bytes: Uint8Array): Array<[string, string]> {
  if (bytes.length > MAX_HEADER_BYTES)
    throw new FrameError(
      Status.RESOURCE_EXHAUSTED,
      CLOSE_TOO_BIG,
      `request headers of ${bytes.length} bytes, the limit is ${MAX_HEADER_BYTES}`,
    );
  const fields: Array<[string, string]> = [];
  for (const line of latin1(bytes).split(/\r?\n/)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!TOKEN.test(name)) throw invalid(`header line ${JSON.stringify(line.slice(0, 80))} is not 'name: value'`);
    fields.push([name.toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return fields;
}

/**
 * A `grpc-timeout` value (an integer of at most 8 digits and a unit: H M S m u n) in
 * milliseconds; throws INVALID_ARGUMENT for anything else.
 */
export function parseGrpcTimeout(value: string): number {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!m)
    throw invalid(`grpc-timeout ${JSON.stringify(value.slice(0, 40))} is not 1-8 digits and a unit (H M S m u n)`);
  const scale = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 }[m[2] as 'H'];
  return Number(m[1]) * scale;
}

// ---- client messages ----

/** The finish-send message: the client has no more requests. */
export const FINISH_SEND: Uint8Array = Uint8Array.of(CLIENT_FINISH_SEND);

/** A client data message carrying `frame` (from encodeFrame). */
export function clientData(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame.length + 1);
  out[0] = CLIENT_DATA;
  out.set(frame, 1);
  return out;
}

/** What a client message after the headers is: the request bytes it carries, or the finish-send (null). */
export function readClientMessage(message: Uint8Array): Uint8Array | null {
  if (message.length === 1 && message[0] === CLIENT_FINISH_SEND) return null;
  if (message.length === 0)
    throw invalid('empty message: a data message starts with 0x00, a finish-send is the single byte 0x01');
  if (message[0] !== CLIENT_DATA)
    throw invalid(
      `message starts with 0x${message[0]!.toString(16).padStart(2, '0')}: data messages start with 0x00, a finish-send is the single byte 0x01`,
    );
  return message.subarray(1);
}

// ---- gRPC-Web frames ----

export interface Frame {
  flag: number;
  body: Uint8Array;
}

/** One frame in a fresh buffer of exactly its size (so `.buffer` can be sent as it is). */
export function encodeFrame(flag: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(PREFIX_BYTES + body.length);
  out[0] = flag;
  new DataView(out.buffer).setUint32(1, body.length);
  out.set(body, PREFIX_BYTES);
  return out;
}

/**
 * Cuts a byte stream into frames, whatever the chunks' boundaries. Holds at most one partial
 * frame: a prefix announcing more than `maxMessageBytes` throws RESOURCE_EXHAUSTED (1009) before
 * its body is buffered. Returned bodies are views of the input or of the parser's own buffer.
 */
// Nothing waiting: one empty array shared by every reader (never written), not one each: k6 holds
// a reader per bridged call, thousands at once.
const NOTHING = new Uint8Array(0);

export class FrameReader {
  private rest: Uint8Array = NOTHING;

  constructor(private readonly maxMessageBytes: number) {}

  /** Bytes of a partial frame waiting for the rest. */
  get pending(): number {
    return this.rest.length;
  }

  push(chunk: Uint8Array): Frame[] {
    let buf = chunk;
    if (this.rest.length > 0) {
      buf = new Uint8Array(this.rest.length + chunk.length);
      buf.set(this.rest);
      buf.set(chunk, this.rest.length);
    }
    const frames: Frame[] = [];
    let at = 0;
    while (buf.length - at >= PREFIX_BYTES) {
      const length = new DataView(buf.buffer, buf.byteOffset + at + 1, 4).getUint32(0);
      if (length > this.maxMessageBytes) {
        throw new FrameError(
          Status.RESOURCE_EXHAUSTED,
          CLOSE_TOO_BIG,
          `frame of ${length} bytes exceeds the maximum message size ${this.maxMessageBytes}`,
        );
      }
      if (buf.length - at - PREFIX_BYTES < length) break;
      frames.push({ flag: buf[at]!, body: buf.subarray(at + PREFIX_BYTES, at + PREFIX_BYTES + length) });
      at += PREFIX_BYTES + length;
    }
    this.rest = at === buf.length ? NOTHING : buf.slice(at);
    return frames;
  }
}

// ---- response headers and trailers ----

/** A headers frame (flag 0x80) for `fields`. */
export function encodeHeadersFrame(fields: Iterable<[string, string | string[]]>): Uint8Array {
  return encodeFrame(FLAG_TRAILER, encodeHeaderLines(fields));
}

// grpc-message is percent-encoded (gRPC's HTTP/2 spec): printable ASCII other than '%' stays
// readable, everything else becomes the %XX of its UTF-8 bytes.
function percentEncode(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (c >= 0x20 && c <= 0x7e && ch !== '%') out += ch;
    else if (ch.length === 1 && c >= 0xd800 && c <= 0xdfff)
      out += '%EF%BF%BD'; // a lone surrogate: U+FFFD
    else out += encodeURIComponent(ch);
  }
  return out;
}

function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text; // not our encoding: show it as it came
  }
}

/** A trailer frame (flag 0x80): `grpc-status`, `grpc-message`, then `extra` fields (response headers for a trailers-only answer, trailing metadata). */
export function encodeTrailer(
  code: number,
  message: string,
  extra: Iterable<[string, string | string[]]> = [],
): Uint8Array {
  return encodeHeadersFrame([['grpc-status', String(code)], ['grpc-message', percentEncode(message)], ...extra]);
}

/**
 * A 0x80 frame's body → its status, when it holds `grpc-status` (a trailer), or null (response
 * headers). A status that is not a number reads as UNKNOWN.
 */
export function decodeTrailer(body: Uint8Array): { code: number; message: string } | null {
  const fields = new Map(parseHeaderLines(body));
  const status = fields.get('grpc-status');
  if (status === undefined) return null;
  const code = /^\d+$/.test(status) ? Number(status) : Status.UNKNOWN;
  return { code, message: percentDecode(fields.get('grpc-message') ?? '') };
}
