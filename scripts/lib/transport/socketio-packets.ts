// Engine.IO v4 and Socket.IO v5 packets as they travel over one WebSocket: encode and decode.
// Pure (no k6 imports), so node:test checks it; scripts/lib/socketio.ts drives it from k6.
//
// Engine.IO v4 over WebSocket, one packet per frame. A text frame is a type digit, then data:
//   0 open {"sid","upgrades","pingInterval","pingTimeout","maxPayload"}   server → client, first
//   1 close   2 ping (server → client; answer 3 pong)   3 pong   4 message <data>   5 upgrade   6 noop
// A binary frame is a message whose data is the bytes (v4 adds no type byte).
//
// Socket.IO v5 packets ride in Engine.IO messages:  <type>[<n>-][<nsp>,][<ack id>][<JSON>]
//   0 CONNECT [auth]   the server answers 0{"sid"} or 4 CONNECT_ERROR {"message"}
//   1 DISCONNECT   2 EVENT ["name", ...args]   3 ACK [...args]   4 CONNECT_ERROR
//   5 BINARY_EVENT, 6 BINARY_ACK: as 2 and 3, with n binary values each replaced by
//     {"_placeholder":true,"num":i}; their bytes follow as n binary frames, in order.
// The namespace "/" and its comma are left out; e.g. 421["echo","hi"] is Engine.IO message (4)
// carrying EVENT (2) with ack id 1, and 431["hi"] its ACK.

/** A frame that is not a valid packet; the message says what is wrong with it. */
export class PacketError extends Error {}

const preview = (text: string) => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);

// ---- Engine.IO -------------------------------------------------------------------------------

export const ENGINE_TYPES = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'] as const;
export type EngineType = (typeof ENGINE_TYPES)[number];

export interface EnginePacket {
  type: EngineType;
  data: string;
}

export function encodeEngine(type: EngineType, data = ''): string {
  return `${ENGINE_TYPES.indexOf(type)}${data}`;
}

/** Decodes a text frame. (A binary frame needs no decoding: it is a message of bytes.) */
export function decodeEngine(frame: string): EnginePacket {
  const type = /^[0-6]/.test(frame) ? ENGINE_TYPES[Number(frame[0])] : undefined;
  if (!type) throw new PacketError(`not an Engine.IO packet: ${preview(frame)}`);
  return { type, data: frame.slice(1) };
}

/** What the server says in its open packet. */
export interface Handshake {
  sid: string;
  upgrades: string[];
  pingInterval: number;
  pingTimeout: number;
  maxPayload: number;
}

export function parseHandshake(data: string): Handshake {
  let h: Partial<Handshake>;
  try {
    h = JSON.parse(data) as Partial<Handshake>;
  } catch {
    throw new PacketError(`open packet is not JSON: ${preview(data)}`);
  }
  if (typeof h?.sid !== 'string' || typeof h.pingInterval !== 'number' || typeof h.pingTimeout !== 'number') {
    throw new PacketError(`open packet lacks sid, pingInterval or pingTimeout: ${preview(data)}`);
  }
  return {
    sid: h.sid,
    upgrades: h.upgrades ?? [],
    pingInterval: h.pingInterval,
    pingTimeout: h.pingTimeout,
    maxPayload: h.maxPayload ?? 0,
  };
}

/**
 * The WebSocket transport address of a Socket.IO server, given as the official client takes it
 * (origin, and path defaulting to /socket.io/):
 *   http://127.0.0.1:8080 → ws://127.0.0.1:8080/socket.io/?EIO=4&transport=websocket
 */
export function engineUrl(origin: string, path = '/socket.io/'): string {
  if (!/^(http|ws)s?:\/\/[^/?#]+\/?$/.test(origin))
    throw new PacketError(`not an http(s) or ws(s) origin: ${preview(origin)}`);
  return `${origin.replace(/^http/, 'ws').replace(/\/$/, '')}${path}?EIO=4&transport=websocket`;
}

// ---- Socket.IO -------------------------------------------------------------------------------

export const SocketType = {
  CONNECT: 0,
  DISCONNECT: 1,
  EVENT: 2,
  ACK: 3,
  CONNECT_ERROR: 4,
  BINARY_EVENT: 5,
  BINARY_ACK: 6,
} as const;
export type SocketTypeCode = (typeof SocketType)[keyof typeof SocketType];

export interface SocketPacket {
  type: SocketTypeCode;
  nsp: string;
  id?: number;
  /** CONNECT: auth / {sid}; EVENT: [name, ...args]; ACK: [...args]; CONNECT_ERROR: {message} */
  data?: unknown;
}

type Placeholder = { _placeholder: true; num: number };

const isPlaceholder = (v: unknown): v is Placeholder =>
  typeof v === 'object' &&
  v !== null &&
  (v as Placeholder)._placeholder === true &&
  typeof (v as Placeholder).num === 'number';

/** Replaces every binary value (ArrayBuffer or a view of one) by a placeholder, collecting the bytes. */
function extractBinary(value: unknown, out: ArrayBuffer[]): unknown {
  if (value instanceof ArrayBuffer) {
    out.push(value);
    return { _placeholder: true, num: out.length - 1 };
  }
  if (ArrayBuffer.isView(value)) {
    const copy = new Uint8Array(value.byteLength);
    copy.set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    return extractBinary(copy.buffer, out);
  }
  if (Array.isArray(value)) return value.map((v) => extractBinary(v, out));
  if (typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON !== 'function') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, extractBinary(v, out)]));
  }
  return value;
}

function insertBinary(value: unknown, buffers: ArrayBuffer[]): unknown {
  if (isPlaceholder(value)) {
    const buf = buffers[value.num];
    if (buf === undefined) throw new PacketError(`placeholder ${value.num} has no attachment (got ${buffers.length})`);
    return buf;
  }
  if (Array.isArray(value)) return value.map((v) => insertBinary(v, buffers));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, insertBinary(v, buffers)]));
  }
  return value;
}

export interface EncodedPacket {
  text: string;
  attachments: ArrayBuffer[];
}

/** Encodes a packet; an EVENT or ACK holding binary values becomes a BINARY_EVENT / BINARY_ACK. */
export function encodeSocket(packet: SocketPacket): EncodedPacket {
  const attachments: ArrayBuffer[] = [];
  const data = packet.data === undefined ? undefined : extractBinary(packet.data, attachments);
  let type: SocketTypeCode = packet.type;
  if (attachments.length > 0) {
    if (type === SocketType.EVENT) type = SocketType.BINARY_EVENT;
    else if (type === SocketType.ACK) type = SocketType.BINARY_ACK;
    else if (type !== SocketType.BINARY_EVENT && type !== SocketType.BINARY_ACK)
      throw new PacketError(`packet type ${type} cannot carry binary data`);
  }
  let text = String(type);
  if (type === SocketType.BINARY_EVENT || type === SocketType.BINARY_ACK) text += `${attachments.length}-`;
  if (packet.nsp !== '/') text += `${packet.nsp},`;
  if (packet.id !== undefined) text += String(packet.id);
  if (data !== undefined) text += JSON.stringify(data);
  return { text, attachments };
}

/** The WebSocket frames that carry a packet: its text as an Engine.IO message, then its attachments. */
export function socketFrames(packet: SocketPacket): Array<string | ArrayBuffer> {
  const { text, attachments } = encodeSocket(packet);
  return [encodeEngine('message', text), ...attachments];
}

/** A decoded packet header: `attachments` binary frames are still to come before it is whole. */
export interface DecodedHeader {
  packet: SocketPacket;
  attachments: number;
}

function validate(packet: SocketPacket, text: string): void {
  const d = packet.data;
  const problem = (() => {
    switch (packet.type) {
      case SocketType.CONNECT:
        return d === undefined || (typeof d === 'object' && d !== null && !Array.isArray(d))
          ? null
          : 'CONNECT data must be an object';
      case SocketType.DISCONNECT:
        return d === undefined ? null : 'DISCONNECT carries no data';
      case SocketType.CONNECT_ERROR:
        return typeof d === 'string' || (typeof d === 'object' && d !== null) ? null : 'CONNECT_ERROR needs a message';
      case SocketType.EVENT:
      case SocketType.BINARY_EVENT:
        return Array.isArray(d) && typeof d[0] === 'string'
          ? null
          : 'EVENT data must be an array starting with the event name';
      case SocketType.ACK:
      case SocketType.BINARY_ACK:
        if (packet.id === undefined) return 'ACK without an id';
        return Array.isArray(d) ? null : 'ACK data must be an array';
    }
  })();
  if (problem) throw new PacketError(`${problem}: ${preview(text)}`);
}

/** Decodes a Socket.IO packet's text (an Engine.IO message's data). */
export function decodeSocket(text: string): DecodedHeader {
  const type = Number(text[0]);
  if (!/^[0-6]/.test(text)) throw new PacketError(`unknown Socket.IO packet type: ${preview(text)}`);
  let i = 1;
  let attachments = 0;
  if (type === SocketType.BINARY_EVENT || type === SocketType.BINARY_ACK) {
    const m = /^(\d+)-/.exec(text.slice(i));
    if (!m) throw new PacketError(`binary packet without an attachment count: ${preview(text)}`);
    attachments = Number(m[1]);
    i += m[0].length;
  }
  let nsp = '/';
  if (text[i] === '/') {
    const comma = text.indexOf(',', i);
    const end = comma === -1 ? text.length : comma;
    nsp = text.slice(i, end);
    i = comma === -1 ? end : end + 1;
  }
  const packet: SocketPacket = { type: type as SocketTypeCode, nsp };
  const id = /^\d+/.exec(text.slice(i));
  if (id) {
    packet.id = Number(id[0]);
    i += id[0].length;
  }
  if (i < text.length) {
    try {
      packet.data = JSON.parse(text.slice(i));
    } catch {
      throw new PacketError(`payload is not JSON: ${preview(text)}`);
    }
  }
  validate(packet, text);
  return { packet, attachments };
}

/**
 * Reassembles packets from the Engine.IO messages of one connection: a binary packet's header
 * is held until all its attachments have arrived, then the bytes take their placeholders' places.
 */
export class SocketDecoder {
  private pending: { header: DecodedHeader; buffers: ArrayBuffer[] } | null = null;

  /** A text message; returns the packet, or null if it waits for attachments. */
  text(data: string): SocketPacket | null {
    if (this.pending)
      throw new PacketError(
        `text packet while ${this.pending.header.attachments - this.pending.buffers.length} attachment(s) are still due: ${preview(data)}`,
      );
    const header = decodeSocket(data);
    if (header.attachments === 0) return header.packet;
    this.pending = { header, buffers: [] };
    return null;
  }

  /** A binary message: the next attachment of the pending packet; returns it once whole. */
  binary(data: ArrayBuffer): SocketPacket | null {
    if (!this.pending)
      throw new PacketError(`binary frame of ${data.byteLength} bytes without a binary packet to attach to`);
    const { header, buffers } = this.pending;
    buffers.push(data);
    if (buffers.length < header.attachments) return null;
    this.pending = null;
    return { ...header.packet, data: insertBinary(header.packet.data, buffers) };
  }
}
