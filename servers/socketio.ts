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
// /stats (protocol `socketio`): Engine.IO connections, and Engine.IO message packets in and out
// with their data bytes: the Socket.IO packet text (event name and JSON included) and each binary
// attachment; pings and pongs are not messages.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import type { HttpHost } from './lib/http.ts';
import { statsFor } from './lib/stats.ts';
import type { Feed } from './lib/feed.ts';
import { serveFeed } from './socketio-feed.ts';

export interface SocketIoOptions {
  maxMessageBytes: number;
  /** The push feed's channels, served with `subscribe` (servers/socketio-feed.ts). */
  feed?: Feed;
}

export const SOCKETIO_PATH = '/socket.io/';

/** The parts of an Engine.IO connection we count (the engine's own types are internal to socket.io). */
interface EngineConnection {
  on(event: 'message', fn: (data: string | Buffer) => void): void;
  on(event: 'packetCreate', fn: (packet: { type: string; data?: string | Buffer }) => void): void;
  on(event: 'close', fn: (reason: string) => void): void;
}

// Engine.IO close reasons that mean the client broke the protocol (or stopped answering pings);
// 'forced close' is the server dropping a client whose Socket.IO packet it could not decode.
const FAULTS = new Set(['parse error', 'transport error', 'ping timeout', 'forced close']);

const stats = statsFor('socketio');
const size = (data: string | Buffer | undefined) => (data === undefined ? 0 : typeof data === 'string' ? Buffer.byteLength(data) : data.length);

export function mountSocketIo(host: HttpHost, opts: SocketIoOptions): { stop(): Promise<void> } {
  const io = new Server({
    path: SOCKETIO_PATH.replace(/\/$/, ''),
    serveClient: false,
    transports: ['polling', 'websocket'],
    maxHttpBufferSize: opts.maxMessageBytes,
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
  io.engine.on('connection', (conn: EngineConnection) => {
    stats.opened();
    conn.on('message', (data) => stats.received(size(data)));
    conn.on('packetCreate', (packet) => {
      if (packet.type === 'message') stats.sent(size(packet.data));
    });
    conn.on('close', (reason) => {
      stats.closed();
      if (FAULTS.has(reason) && !stopping) stats.errors++;
    });
  });

  io.on('connection', (socket) => {
    socket.on('echo', (...args: unknown[]) => {
      const ack = args.pop();
      if (typeof ack === 'function') ack(...args);
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
