// A Socket.IO client for k6 (k6 has none): Engine.IO v4 + Socket.IO v5 over our k6/x/ws,
// WebSocket transport only, one namespace per connection. Packet formats: socketio-packets.ts.
//
//   const sio = connectSocketIO('http://127.0.0.1:8080', (sio, atMs) => {
//     sio.emit('echo', 'hi', (args, atMs) => { ... args[0] === 'hi' ... });
//   });
//   sio.onClosed((reason) => ...);   sio.close();
//
// Connecting is what an application waits for: WebSocket handshake → the server's Engine.IO
// open packet → our CONNECT to the namespace → the server's CONNECT ack. rtb_connect_time is
// taken from before the WebSocket is created to the ack frame's timestamp (when k6 read it).
// Server pings are answered with pongs. Binary values (ArrayBuffer) in emits and acks travel as
// Socket.IO binary attachments. Protocol problems count in rtb_errors with a `reason`.
//
// Connection state recovery (a server with socket.io's `connectionStateRecovery`), when given a
// Recovery to keep across connections: the CONNECT ack carries the session's `pid`, and every event
// the server emits without an ack carries an offset as its last argument (left in the listener's
// arguments, as the official client does); a later connection sends {pid, offset} as its CONNECT's
// auth. The server then replays the events it sent after that offset (they may arrive before the
// CONNECT ack) and acks with the same pid: `recovered` is true, the session (id, rooms, data) is
// the old one. Otherwise the ack brings a new pid and the caller starts over.
import type { WebSocket } from 'k6/x/ws';
import { now } from '../monitor/clock.ts';
import { setTimeout } from 'k6/timers';
import { readFeedMessage, type ResetInfo } from '../../../contracts/feed.ts';
import type { Subscription } from '../workload/feed.ts';
import { isNormalClose } from '../../../contracts/close-codes.ts';
import { connectTime, errors, resumes } from '../monitor/metrics.ts';
import { openHeldSocket, type SocketOwner } from './held-socket.ts';
import { reconnectDelay } from './backoff.ts';
import {
  PacketError,
  SocketDecoder,
  SocketType,
  decodeEngine,
  encodeEngine,
  engineUrl,
  parseHandshake,
  socketFrames,
  type SocketPacket,
} from './socketio-packets.ts';

/** WebSocket readyState: open (the WHATWG numbering, as k6/x/ws follows it). */
const OPEN = 1;

/** Called with an ack's (or a server event's) arguments and the timestamp of the frame that completed it. */
export type Listener = (args: unknown[], atMs: number) => void;

/** A session to recover, kept across connections: the last pid the server gave and the offset of the last event read. */
export interface Recovery {
  pid: string;
  offset: string;
}

export interface SocketIOOptions {
  namespace?: string;
  /** The caller reconnects and resumes when the server drops the connection: not an error then. */
  resumes?: boolean;
  /** Speak connection state recovery with this session (updated as packets arrive). */
  recovery?: Recovery;
}

// A held connection costs k6 memory for as long as it lives (the capacity scenarios hold
// thousands per VU), and in k6's JavaScript runtime every function object and every Map is
// several hundred bytes: a connection has no closure of its own (its socket's listeners are
// shared, held-socket.ts), the maps and lists below are made when first needed and the ack map
// is dropped once it is empty, and the handshake is checked, not kept. The feed subclasses it
// (FeedConnection) rather than passing callbacks.
export class SocketIO implements SocketOwner {
  /** The namespace socket's id, once connected. */
  sid = '';
  /** The server restored the session given in `recovery` (connection state recovery). */
  recovered = false;
  private readonly ws: WebSocket;
  private readonly decoder = new SocketDecoder();
  private acks: Map<number, Listener> | null = null;
  private listeners: Map<string, Listener> | null = null;
  private closers: Array<(reason: string, atMs: number) => void> | null = null;
  private nextAckId = 0;
  protected connected = false;
  private closing = false;
  private readonly namespace: string;
  private readonly resumes: boolean;
  private readonly recovery: Recovery | undefined;
  /** The pid this connection asked to recover ('' = none). */
  private askedPid = '';
  /** Before the WebSocket was created: rtb_connect_time runs from here to the CONNECT ack. */
  private readonly started = now();

  constructor(
    origin: string,
    private readonly onConnect: ((sio: SocketIO, atMs: number) => void) | null,
    { namespace = '/', resumes = false, recovery }: SocketIOOptions = {},
  ) {
    this.namespace = namespace;
    this.resumes = resumes;
    this.recovery = recovery;
    this.ws = openHeldSocket(engineUrl(origin), this);
  }

  /** Sends an event; with `ack`, the server's acknowledgement arrives there. */
  emit(event: string, data: unknown, ack?: Listener): void {
    const packet: SocketPacket = { type: SocketType.EVENT, nsp: this.namespace, data: [event, data] };
    if (ack) {
      packet.id = this.nextAckId++;
      (this.acks ??= new Map()).set(packet.id, ack);
    }
    for (const frame of socketFrames(packet)) this.ws.send(frame);
  }

  /** Handles events the server emits to us. */
  on(event: string, listener: Listener): void {
    (this.listeners ??= new Map()).set(event, listener);
  }

  /** Called once when the connection ends, for any reason ('closed' when it closed normally). */
  onClosed(fn: (reason: string, atMs: number) => void): void {
    (this.closers ??= []).push(fn);
  }

  /** The namespace is joined (the CONNECT ack read at `atMs`). */
  protected joined(atMs: number): void {
    this.onConnect?.(this, atMs);
  }

  /** An event the server emitted to us (`args` without its name). */
  protected event(name: string, args: unknown[], atMs: number): void {
    this.listeners?.get(name)?.(args, atMs);
  }

  /** The connection ended, for any reason ('closed' when it closed normally). */
  protected ended(reason: string, atMs: number): void {
    if (this.closers) for (const fn of this.closers) fn(reason, atMs);
  }

  /** An error event and an abnormal close are errors unless the caller reconnects (held-socket.ts). */
  get countsDrops(): boolean {
    return !this.resumes;
  }

  /** SocketOwner: the WebSocket opened (the server speaks first). */
  opened(): void {}

  /** SocketOwner: a WebSocket message. */
  message(data: string | ArrayBuffer, atMs: number): void {
    try {
      this.frame(data, atMs);
    } catch (err) {
      if (!(err instanceof PacketError)) throw err;
      this.fail(`socketio bad packet: ${err.message}`);
    }
  }

  /** SocketOwner: the WebSocket closed. */
  closed(code: number, reason: string, atMs: number): void {
    // held-socket.ts already counts abnormal close codes; a plain close we did not ask for is the
    // server dropping us (Socket.IO closes without a code on a protocol error).
    const normal = isNormalClose(code);
    if (normal && !this.closing && !this.resumes) errors.add(1, { reason: 'socketio closed by server' });
    this.ended(normal ? 'closed' : `ws close ${code}: ${reason}`.slice(0, 120), atMs);
  }

  /** Leaves the namespace (DISCONNECT) and closes the WebSocket; a handshake under way is abandoned. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.connected && this.ws.readyState === OPEN)
      for (const frame of socketFrames({ type: SocketType.DISCONNECT, nsp: this.namespace })) this.ws.send(frame);
    this.ws.close();
  }

  private fail(reason: string): void {
    errors.add(1, { reason: reason.slice(0, 120) });
    this.close();
  }

  private frame(data: string | ArrayBuffer, atMs: number): void {
    if (typeof data !== 'string') return this.packet(this.decoder.binary(data), atMs);
    const engine = decodeEngine(data);
    switch (engine.type) {
      case 'open':
        parseHandshake(engine.data); // checked (it throws on a bad one), not kept: nothing here needs it
        return this.connect();
      case 'ping':
        return this.ws.send(encodeEngine('pong', engine.data));
      case 'message':
        return this.packet(this.decoder.text(engine.data), atMs);
      case 'close':
        return this.resumes ? this.close() : this.fail('socketio engine closed by server');
      default:
        return; // pong, upgrade, noop: nothing to do on a WebSocket-only connection
    }
  }

  /** Joins the namespace: CONNECT, with {pid, offset} as auth when there is a session to recover. */
  private connect(): void {
    const r = this.recovery;
    const packet: SocketPacket = { type: SocketType.CONNECT, nsp: this.namespace };
    if (r && r.pid !== '' && r.offset !== '') {
      this.askedPid = r.pid;
      packet.data = { pid: r.pid, offset: r.offset };
    }
    for (const frame of socketFrames(packet)) this.ws.send(frame);
  }

  private packet(packet: SocketPacket | null, atMs: number): void {
    if (!packet) return; // a binary packet still waiting for attachments
    if (packet.nsp !== this.namespace)
      throw new PacketError(`packet for namespace ${packet.nsp}, connected to ${this.namespace}`);
    const args = packet.data as unknown[];
    switch (packet.type) {
      case SocketType.CONNECT: {
        this.connected = true;
        const ack = packet.data as { sid?: unknown; pid?: unknown } | undefined;
        this.sid = String(ack?.sid ?? '');
        const pid = typeof ack?.pid === 'string' ? ack.pid : '';
        this.recovered = this.askedPid !== '' && pid === this.askedPid;
        if (this.recovery) {
          if (!this.recovered) this.recovery.offset = ''; // a new session: offsets start again
          this.recovery.pid = pid;
        }
        connectTime.add(atMs - this.started);
        return this.joined(atMs);
      }
      case SocketType.CONNECT_ERROR:
        return this.fail(`socketio connect_error: ${JSON.stringify(packet.data)}`);
      case SocketType.DISCONNECT:
        return this.fail('socketio disconnected by server');
      case SocketType.EVENT:
      case SocketType.BINARY_EVENT: {
        // With a session (a pid), an event's last argument is its offset, as the official client reads it.
        const last = args[args.length - 1];
        if (this.recovery?.pid && args.length > 1 && typeof last === 'string') this.recovery.offset = last;
        return this.event(args[0] as string, args.slice(1), atMs);
      }
      case SocketType.ACK:
      case SocketType.BINARY_ACK: {
        const ack = this.acks?.get(packet.id!);
        if (!ack) throw new PacketError(`ack ${packet.id} answers no emit`);
        this.acks!.delete(packet.id!);
        if (this.acks!.size === 0) this.acks = null; // an emptied Map keeps its table
        return ack(args, atMs);
      }
    }
  }
}

/**
 * Opens a Socket.IO connection to the server at `origin` (e.g. http://127.0.0.1:8080; Engine.IO
 * at /socket.io/ as for the official client) and joins `namespace`.
 */
export function connectSocketIO(
  origin: string,
  onConnect: (sio: SocketIO, atMs: number) => void,
  namespace = '/',
): SocketIO {
  return new SocketIO(origin, onConnect, { namespace });
}

/**
 * The first reconnect comes within this long (full jitter), the bound doubling to 5 s: 1 s, as
 * socket.io-client's own `reconnectionDelay`. A Socket.IO server takes each connection back with
 * an Engine.IO handshake, a CONNECT and a session restore: 10,000 clients cut at once and back
 * within 100 ms overflowed its accept queue, and the kernel's dropped handshakes came back only
 * after 1, 3, 7, 15, 31 s.
 */
const RECONNECT_BASE_MS = 1000;

/**
 * The feed over Socket.IO (servers/socketio-feed.ts), the counterpart of subscribeWs: emits
 * `subscribe` for `channel` and feeds `sub` from the server's `feed` events. When the connection
 * drops it reconnects with exponential backoff with full jitter (a random wait up to 1 s, the bound
 * doubling to 5 s; backoff.ts) and resumes through
 * Socket.IO's connection state recovery: the server restores the session, replays the events this
 * client missed and goes on with the subscription, no second `subscribe`. If the server does not
 * restore it (expired, or recovery off), it subscribes again after the last sequence number `sub`
 * saw. Each resume counts in rtb_resumes with `via`: recovery or resubscribe. A connection that
 * never joined counts in rtb_errors ('connect failed'); a refused subscription too, and is not retried.
 */
export function subscribeSocketIo(origin: string, channel: string, sub: Subscription): { close(): void } {
  return new SocketIoFeed(origin, channel, sub);
}

/** One feed subscription over Socket.IO, across its connections (one FeedConnection at a time). */
class SocketIoFeed {
  private sio!: FeedConnection;
  private closing = false;
  private attempt = 0;
  private connects = 0;
  readonly recovery: Recovery = { pid: '', offset: '' };

  constructor(
    readonly origin: string,
    private readonly channel: string,
    private readonly sub: Subscription,
  ) {
    this.connect();
  }

  private connect(): void {
    if (this.closing) return; // closed while waiting to reconnect
    this.sio = new FeedConnection(this);
  }

  joined(s: SocketIO): void {
    if (this.connects++ > 0) resumes.add(1, { via: s.recovered ? 'recovery' : 'resubscribe' });
    if (s.recovered) return void (this.attempt = 0);
    s.emit('subscribe', { channel: this.channel, after: this.sub.lastSeq || undefined }, (args) => {
      const reply = args[0] as { error?: string } | undefined;
      if (reply?.error === undefined) return void (this.attempt = 0);
      errors.add(1, { reason: `socketio subscribe: ${reply.error}`.slice(0, 120) });
      this.closing = true;
      s.close();
    });
  }

  event(name: string, args: unknown[], atMs: number): void {
    if (name === 'feed') this.sub.message(readFeedMessage(args[0] as string), atMs);
    else if (name === 'reset') this.sub.reset(args[0] as ResetInfo);
  }

  ended(joined: boolean, why: string, atMs: number): void {
    if (this.closing) return;
    if (!joined) errors.add(1, { reason: `connect failed: socketio ${why}`.slice(0, 120) });
    this.sub.disconnected(atMs);
    setTimeout(() => this.connect(), reconnectDelay(this.attempt++, RECONNECT_BASE_MS));
  }

  close(): void {
    this.closing = true;
    this.sio.close();
  }
}

/** A connection of a SocketIoFeed: its events go to the feed's methods, not to callbacks made per connection. */
class FeedConnection extends SocketIO {
  constructor(private readonly feed: SocketIoFeed) {
    super(feed.origin, null, { resumes: true, recovery: feed.recovery });
  }

  protected override joined(): void {
    this.feed.joined(this);
  }

  protected override event(name: string, args: unknown[], atMs: number): void {
    this.feed.event(name, args, atMs);
  }

  protected override ended(reason: string, atMs: number): void {
    this.feed.ended(this.connected, reason, atMs);
  }
}
