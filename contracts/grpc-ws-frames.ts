// gRPC over WebSocket: the wire format of rtbench's bridge (servers/bridge.ts), shared by the
// bridge, the k6 client (scripts/lib/transport/grpc-ws.ts) and the tests. Pure: no k6 or Node APIs.
//
// One gRPC call per WebSocket connection, at ws://host:port/grpc-ws:
//   1. client → bridge, first message, TEXT: the header block, gRPC-Web style: the method path,
//      then optional request metadata, one `name: value` per line (lines end with \r\n):
//          /rtbench.echo.v1.EchoService/Echo\r\n
//          x-user: alice\r\n
//   2. then every message is BINARY and holds exactly one frame, as in gRPC-Web:
//          1 flag byte | 4-byte big-endian length | length bytes
//      client → bridge:  0x00 a request message (protobuf, uncompressed)
//                        0x02 half-close, length 0: the client has no more requests
//      bridge → client:  0x00 a response message
//                        0x80 the trailer: `grpc-status: N\r\ngrpc-message: text\r\n` (the
//                             message percent-encoded), always the last frame
//   3. after the trailer the bridge closes the connection: 1000 when the call got a status from
//      the gRPC server (OK or not), 1007 (bad framing) or 1009 (too big) for input it refused.
//      A WebSocket message larger than a maximum-size frame is closed 1009 by the WebSocket layer
//      itself, with no trailer: a client reads a close without a trailer by its code
//      (statusForClose: 1009 RESOURCE_EXHAUSTED, 1007 INVALID_ARGUMENT, 1001 UNAVAILABLE).
// Unary and server-streaming calls take exactly one request and start at the half-close after it
// (as gRPC over HTTP/2 does at the end of the request stream); client-streaming and bidi calls
// start with the header, and every request is forwarded as it arrives. Closing the WebSocket
// before the trailer cancels the call.

/** Where the bridge listens, on the servers' HTTP port. */
export const BRIDGE_PATH = '/grpc-ws';

export const FLAG_DATA = 0x00;
export const FLAG_COMPRESSED = 0x01;
export const FLAG_HALF_CLOSE = 0x02;
export const FLAG_TRAILER = 0x80;
export const PREFIX_BYTES = 5;

/** The gRPC status codes the framing itself produces. */
export const Status = { OK: 0, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14 } as const;

/** Status names as k6's `grpc.Status*` constants spell them, so rtb_errors reasons match direct gRPC's. */
const STATUS_NAMES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
  'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated',
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

/** Input the bridge refuses: the status for the trailer and the close code for the connection. */
export class FrameError extends Error {
  constructor(readonly status: number, readonly closeCode: number, message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

const invalid = (message: string) => new FrameError(Status.INVALID_ARGUMENT, CLOSE_INVALID_DATA, message);

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
 * The frame a binary WebSocket message holds. Throws a FrameError when the message is shorter
 * than a prefix, when the prefix announces more than `maxMessageBytes` (RESOURCE_EXHAUSTED,
 * 1009), or when the bytes after the prefix are not exactly the announced length.
 */
export function decodeFrame(message: Uint8Array, maxMessageBytes: number): Frame {
  if (message.length < PREFIX_BYTES) throw invalid(`truncated frame: ${message.length} bytes, a frame prefix alone is ${PREFIX_BYTES}`);
  const length = new DataView(message.buffer, message.byteOffset, message.byteLength).getUint32(1);
  if (length > maxMessageBytes) throw new FrameError(Status.RESOURCE_EXHAUSTED, CLOSE_TOO_BIG, `frame of ${length} bytes exceeds the maximum message size ${maxMessageBytes}`);
  const carried = message.length - PREFIX_BYTES;
  if (carried < length) throw invalid(`truncated frame: its prefix says ${length} bytes, ${carried} follow`);
  if (carried > length) throw invalid(`frame prefix says ${length} bytes but ${carried} follow (one frame per WebSocket message)`);
  return { flag: message[0]!, body: message.subarray(PREFIX_BYTES) };
}

export interface Header {
  /** e.g. /rtbench.echo.v1.EchoService/Echo */
  path: string;
  metadata: Array<[string, string]>;
}

const PATH = /^\/[A-Za-z_][\w.]*\/[A-Za-z_]\w*$/;

/** The first (text) message for a call of `method` ('pkg.Service/Method', with or without the leading '/'). */
export function encodeHeader(method: string, metadata: Record<string, string> = {}): string {
  const path = method.startsWith('/') ? method : `/${method}`;
  return [path, ...Object.entries(metadata).map(([k, v]) => `${k}: ${v}`)].map((line) => `${line}\r\n`).join('');
}

export function parseHeader(text: string): Header {
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  const path = lines.shift() ?? '';
  if (!PATH.test(path)) throw invalid(`header must start with the method path /package.Service/Method, got ${JSON.stringify(path.slice(0, 80))}`);
  const metadata = lines.map((line): [string, string] => {
    const colon = line.indexOf(':');
    if (colon < 1) throw invalid(`header line ${JSON.stringify(line.slice(0, 80))} is not 'name: value'`);
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  });
  return { path, metadata };
}

// grpc-message is percent-encoded (gRPC's HTTP/2 spec): printable ASCII other than '%' stays
// readable, everything else becomes the %XX of its UTF-8 bytes.
function percentEncode(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    if (c >= 0x20 && c <= 0x7e && ch !== '%') out += ch;
    else if (ch.length === 1 && c >= 0xd800 && c <= 0xdfff) out += '%EF%BF%BD'; // a lone surrogate: U+FFFD
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

/** The trailer frame (flag 0x80) for a call that ended with `code` and `message`. */
export function encodeTrailer(code: number, message: string): Uint8Array {
  const text = `grpc-status: ${code}\r\ngrpc-message: ${percentEncode(message)}\r\n`;
  const body = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) body[i] = text.charCodeAt(i); // ASCII by construction
  return encodeFrame(FLAG_TRAILER, body);
}

/** A trailer frame's body → status code and message; a trailer without a status reads as UNKNOWN. */
export function decodeTrailer(body: Uint8Array): { code: number; message: string } {
  let text = '';
  for (let i = 0; i < body.length; i++) text += String.fromCharCode(body[i]!);
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const status = fields.get('grpc-status');
  const code = status !== undefined && /^\d+$/.test(status) ? Number(status) : Status.UNKNOWN;
  const message = percentDecode(fields.get('grpc-message') ?? (status === undefined ? 'trailer without grpc-status' : ''));
  return { code, message };
}
