// Socket.IO (socket.io 4.8: Engine.IO v4 + Socket.IO v5) on the shared HTTP server at
// /socket.io/, WebSocket and long-polling transports (the official client starts with polling).
//
// Namespace "/" answers `echo`, and `subscribe` to the push feed (servers/socketio-feed.ts):
//   echo(...args, ack) → ack(...args): exactly what came, text or binary, in order.
//   An `echo` without an ack id has nothing to answer to and is ignored.
//
// Limits: a WebSocket frame (or a polling body) over maxMessageBytes is refused: WebSocket
// close 1009, HTTP 413. Bad input gets Socket.IO's own answers: a CONNECT to an unknown
// namespace → CONNECT_ERROR {"message":"Invalid namespace"} (the connection stays usable); a
// packet that cannot be decoded (not Engine.IO, an unknown Socket.IO type, bad JSON, an event
// for a namespace the client has not joined) → the server closes that connection (Socket.IO has
// no error packet for these). Every such case counts as an error in /stats; the server keeps
// serving everyone else.
// Hostile input: a packet nested deeper than socketIoMaxDepth is refused by the decoder (the
// connection is closed, as for any undecodable packet) before socket.io's recursive code sees it.
// Backpressure: while more than maxBufferedBytes of replies wait for a WebSocket client, the
// server stops reading from it; a long-polling client that lets more than that (plus two maximum
// messages) pile up without fetching them is disconnected. With a token, the CONNECT must carry
// it (`auth: {token}`, or the Authorization header / ?token= of the Engine.IO request); without it
// the client gets CONNECT_ERROR {"message":"unauthorized"}. A connection that joins no namespace
// within handshakeMs is closed.
// Connection state recovery (socket.io's `connectionStateRecovery`, on unless
// --socketio-recovery-ms is 0): every event the server emits without an ack carries an offset as
// its last argument, the CONNECT ack carries a `pid`, and a client that reconnects within
// socketIoRecoveryMs with {pid, offset} in its CONNECT's auth gets its session back (same id,
// rooms and data) and the events it missed, then the CONNECT ack with the same pid. What is kept
// for that is bounded (servers/lib/socketio-recovery.ts); a pid or offset that is bogus, expired or
// too old gets a fresh session, as socket.io answers it. A recovering client passes the token
// check again (socket.io writes the missed events before its middlewares run, so a pid and offset
// without the token get at most those, then CONNECT_ERROR; and the attempt uses the session up).
// The feed picks a recovered subscription up where it was (servers/socketio-feed.ts).
// /stats (protocol `socketio`): Engine.IO connections, and Engine.IO message packets in and out
// with their data bytes: the Socket.IO packet text (event name and JSON included) and each binary
// attachment; pings and pongs are not messages.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import * as parser from 'socket.io-parser';
import type { HttpHost } from './lib/http.ts';
import type { Limits } from './lib/config.ts';
import { statsFor } from './lib/stats.ts';
import type { Feed } from './lib/feed.ts';
import { serveFeed } from './socketio-feed.ts';
import { recoveryAdapter } from './lib/socketio-recovery.ts';

export type SocketIoOptions = Pick<
  Limits,
  | 'maxMessageBytes'
  | 'maxBufferedBytes'
  | 'socketIoMaxDepth'
  | 'handshakeMs'
  | 'maxConnections'
  | 'socketIoRecoveryMs'
  | 'socketIoRecoveryBytes'
> & {
  /** Checks a presented token; absent = no token required. */
  tokenMatches?: (presented: string | null) => boolean;
  /** The push feed's channels, served with `subscribe` (servers/socketio-feed.ts). */
  feed?: Feed;
};

/** How deep JSON nests in `text` (brackets outside strings), stopping early past `max`. */
export function jsonDepth(text: string, max: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest && (deepest = depth) > max) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** socket.io-parser with a nesting bound: a deeper packet throws, and socket.io closes that connection. */
function boundedParser(maxDepth: number) {
  class Decoder extends parser.Decoder {
    override add(obj: unknown): void {
      if (typeof obj === 'string' && jsonDepth(obj, maxDepth) > maxDepth)
        throw new Error(`packet nested deeper than ${maxDepth} levels`);
      super.add(obj);
    }
  }
  return { ...parser, Decoder };
}

export const SOCKETIO_PATH = '/socket.io/';

/** The parts of an Engine.IO connection we count (the engine's own types are internal to socket.io). */
interface EngineConnection {
  on(event: 'message', fn: (data: string | Buffer) => void): void;
  on(event: 'packetCreate', fn: (packet: { type: string; data?: string | Buffer }) => void): void;
  on(event: 'flush', fn: (packets: Array<{ data?: string | Buffer }>) => void): void;
  on(event: 'close', fn: (reason: string) => void): void;
  close(): void;
  transport: { name: string; socket?: { bufferedAmount: number; pause(): void; resume(): void } };
}

// Engine.IO close reasons that mean the client broke the protocol (or stopped answering pings);
// 'forced close' is the server dropping a client whose Socket.IO packet it could not decode.
const FAULTS = new Set(['parse error', 'transport error', 'ping timeout', 'forced close']);

const stats = statsFor('socketio');
const size = (data: string | Buffer | undefined) =>
  data === undefined ? 0 : typeof data === 'string' ? Buffer.byteLength(data) : data.length;

export function mountSocketIo(host: HttpHost, opts: SocketIoOptions): { stop(): Promise<void> } {
  const io = new Server({
    path: SOCKETIO_PATH.replace(/\/$/, ''),
    serveClient: false,
    transports: ['polling', 'websocket'],
    maxHttpBufferSize: opts.maxMessageBytes,
    parser: boundedParser(opts.socketIoMaxDepth),
    connectTimeout: opts.handshakeMs,
    ...(opts.socketIoRecoveryMs > 0 && {
      connectionStateRecovery: {
        maxDisconnectionDuration: opts.socketIoRecoveryMs,
        // A recovering client passes the middlewares (the token check) like any other.
        skipMiddlewares: false,
      },
      adapter: recoveryAdapter({
        windowMs: opts.socketIoRecoveryMs,
        maxBytes: opts.socketIoRecoveryBytes,
        // one storm that drops every connection at once, twice over
        maxSessions: 2 * opts.maxConnections,
      }),
    }),
  });
  // socket.io only builds its Engine.IO server when attached to an http.Server. It gets a
  // detached one that never listens; the shared host hands it everything under /socket.io/ and
  // keeps routing the rest (so /image, /echo and unknown upgrade paths behave as before).
  io.attach(createServer());
  host.delegate(SOCKETIO_PATH, {
    request: (req, res) => io.engine.handleRequest(req, res),
    upgrade: (req, socket, head) => io.engine.handleUpgrade(req, socket, head),
  });

  let stopping = false;
  io.engine.on('connection_error', () => stats.errors++); // a refused handshake (bad transport, unknown sid, …)
  const backlogs = new WeakMap<EngineConnection, () => void>();
  io.engine.on('connection', (conn: EngineConnection) => {
    stats.opened();
    let queued = 0; // reply bytes in the Engine.IO write buffer, not yet handed to the transport
    let paused: NodeJS.Timeout | undefined;
    const backlog = () =>
      queued + (conn.transport.name === 'websocket' ? (conn.transport.socket?.bufferedAmount ?? 0) : 0);
    // After each reply: a WebSocket client behind by more than the bound is not read from until
    // it catches up; a polling client that never fetches its replies is let go.
    backlogs.set(conn, () => {
      const behind = backlog();
      if (behind <= opts.maxBufferedBytes || paused) return;
      const ws = conn.transport.name === 'websocket' ? conn.transport.socket : undefined;
      if (!ws) {
        if (behind > opts.maxBufferedBytes + 2 * opts.maxMessageBytes) {
          stats.errors++;
          conn.close();
        }
        return;
      }
      ws.pause();
      paused = setInterval(() => {
        if (backlog() > opts.maxBufferedBytes / 2) return;
        clearInterval(paused);
        paused = undefined;
        ws.resume();
      }, 20);
    });
    conn.on('message', (data) => stats.received(size(data)));
    conn.on('packetCreate', (packet) => {
      queued += size(packet.data);
      if (packet.type === 'message') stats.sent(size(packet.data));
    });
    conn.on('flush', (packets) => {
      for (const p of packets) queued -= size(p.data);
    });
    conn.on('close', (reason) => {
      clearInterval(paused);
      stats.closed();
      if (FAULTS.has(reason) && !stopping) stats.errors++;
    });
  });

  if (opts.tokenMatches) {
    const matches = opts.tokenMatches;
    io.use((socket, next) => {
      const auth = socket.handshake.auth as { token?: unknown } | undefined;
      const header = /^Bearer\s+(\S+)\s*$/i.exec(socket.handshake.headers.authorization ?? '')?.[1];
      const query = socket.handshake.query.token;
      const presented =
        typeof auth?.token === 'string' ? auth.token : (header ?? (typeof query === 'string' ? query : null));
      if (matches(presented)) return next();
      stats.errors++;
      next(new Error('unauthorized'));
    });
  }

  io.on('connection', (socket) => {
    const conn = socket.conn as unknown as EngineConnection;
    socket.on('echo', (...args: unknown[]) => {
      const ack = args.pop();
      if (typeof ack !== 'function') return;
      try {
        ack(...args);
      } catch {
        // An ack socket.io cannot encode: end this connection only.
        stats.errors++;
        socket.disconnect(true);
        return;
      }
      backlogs.get(conn)?.();
    });
    if (opts.feed) serveFeed(socket, opts.feed);
  });

  return {
    stop: () =>
      new Promise<void>((resolve) => {
        stopping = true;
        // The detached http.Server never listened, so socket.io's close reports that as an error: nothing to do.
        io.close(() => resolve());
      }),
  };
}
