// The server-push feed (servers/lib/feed.ts) over Socket.IO, beside SSE (/sse) and WebSocket
// (/feed) on the same channels, so the capacity runs hold Socket.IO subscribers like the others.
//   client → subscribe({channel, after?}, ack)   ack({channel}) or ack({error}) (bad request,
//                                                  unknown channel, second subscription)
//   server → feed(json)    one event per message, the message body as SSE's `data:` carries it
//   server → reset({requested, oldest, reason})    a resume asked for messages no longer buffered
// A subscriber with more than MAX_QUEUED packets waiting to be written is dropped (slow client);
// the feed's drop (POST /feed/drop) closes the Engine.IO connection without a goodbye.
// Connection state recovery (servers/socketio.ts): the subscription ends with its socket, but the
// socket's `data` keeps the channel and the last message emitted to it. A client that recovers its
// session gets from socket.io the events emitted before the drop that it had not received, and
// from here, without asking again, the channel from the next message on (the channel's replay
// buffer covers the time it was away); a `subscribe` on that connection is then answered as a
// second subscription. A client whose session is not recovered subscribes again with `after`.
import type { Socket } from 'socket.io';
import { Feed, type Subscriber } from './lib/feed.ts';
import { statsFor } from './lib/stats.ts';

/** Packets waiting in Engine.IO's write buffer beyond which a subscriber is dropped. */
const MAX_QUEUED = 1000;

const stats = statsFor('socketio');

type Ack = (reply: { channel: string } | { error: string }) => void;

/** What a socket's `data` holds for recovery: its channel and the last message emitted to it. */
interface FeedState {
  channel: string;
  seq: number;
}

/** Serves `subscribe` on one Socket.IO connection (and picks a recovered one's subscription up). */
export function serveFeed(socket: Socket, feed: Feed): void {
  let unsubscribe: (() => void) | null = null;
  const data = socket.data as { feed?: FeedState };

  /** Subscribes this socket to `name`, replaying after `after` when given; throws FeedError for an unknown channel. */
  const subscribe = (name: string, after: number | undefined) => {
    const channel = feed.channel(name);
    const state: FeedState = { channel: name, seq: after ?? channel.latest };
    const queued = () => (socket.conn as unknown as { writeBuffer?: unknown[] }).writeBuffer?.length ?? 0;
    const sub: Subscriber = {
      deliver: (msg) => {
        if (queued() > MAX_QUEUED) {
          stats.errors++;
          socket.conn.close();
          return false;
        }
        socket.emit('feed', msg.json);
        state.seq = msg.seq;
        return true;
      },
      reset: (info) => socket.emit('reset', info),
      drop: () => socket.conn.close(),
      close: () => socket.disconnect(true),
    };
    data.feed = state;
    return () => {
      channel.subscribe(sub, after);
      unsubscribe = () => channel.unsubscribe(sub);
    };
  };

  if (socket.recovered && data.feed) {
    // The session came back: socket.io has just written the events the client missed; go on after
    // the last one emitted. A channel removed meanwhile (no subscriber for its idle time) ends it.
    try {
      subscribe(data.feed.channel, data.feed.seq)();
    } catch {
      socket.disconnect(true);
    }
  }

  socket.on('subscribe', (req: unknown, ack: unknown) => {
    if (typeof ack !== 'function') return; // nowhere to answer: ignored, as echo without an ack
    const reply = ack as Ack;
    const { channel: name, after } = (typeof req === 'object' && req !== null ? req : {}) as Record<string, unknown>;
    if (unsubscribe) return reply({ error: 'already subscribed on this connection' });
    if (typeof name !== 'string') return reply({ error: 'channel must be a string' });
    if (after !== undefined && (!Number.isInteger(after) || (after as number) < 0))
      return reply({ error: `after must be a sequence number, got ${JSON.stringify(after)}` });
    let start;
    try {
      start = subscribe(name, after as number | undefined);
    } catch (err) {
      return reply({ error: (err as Error).message.slice(0, 120) });
    }
    reply({ channel: name });
    start();
  });
  socket.on('disconnect', () => unsubscribe?.());
}
