// The server-push feed (servers/lib/feed.ts) over Socket.IO, beside SSE (/sse) and WebSocket
// (/feed) on the same channels, so the capacity runs hold Socket.IO subscribers like the others.
//   client → subscribe({channel, after?}, ack)   ack({channel}) or ack({error}) (bad request,
//                                                  unknown channel, second subscription)
//   server → feed(json)    one event per message, the message body as SSE's `data:` carries it
//   server → reset({requested, oldest, reason})    a resume asked for messages no longer buffered
// A subscriber with more than MAX_QUEUED packets waiting to be written is dropped (slow client);
// the feed's drop (POST /feed/drop) closes the Engine.IO connection without a goodbye.
import type { Socket } from 'socket.io';
import { Feed, type Subscriber } from './lib/feed.ts';
import { statsFor } from './lib/stats.ts';

/** Packets waiting in Engine.IO's write buffer beyond which a subscriber is dropped. */
const MAX_QUEUED = 1000;

const stats = statsFor('socketio');

type Ack = (reply: { channel: string } | { error: string }) => void;

/** Serves `subscribe` on one Socket.IO connection. */
export function serveFeed(socket: Socket, feed: Feed): void {
  let unsubscribe: (() => void) | null = null;
  socket.on('subscribe', (req: unknown, ack: unknown) => {
    if (typeof ack !== 'function') return; // nowhere to answer: ignored, as echo without an ack
    const reply = ack as Ack;
    const { channel: name, after } = (typeof req === 'object' && req !== null ? req : {}) as Record<string, unknown>;
    if (unsubscribe) return reply({ error: 'already subscribed on this connection' });
    if (typeof name !== 'string') return reply({ error: 'channel must be a string' });
    if (after !== undefined && (!Number.isInteger(after) || (after as number) < 0))
      return reply({ error: `after must be a sequence number, got ${JSON.stringify(after)}` });
    let channel;
    try {
      channel = feed.channel(name);
    } catch (err) {
      return reply({ error: (err as Error).message.slice(0, 120) });
    }
    const queued = () => (socket.conn as unknown as { writeBuffer?: unknown[] }).writeBuffer?.length ?? 0;
    const sub: Subscriber = {
      deliver: (msg) => {
        if (queued() > MAX_QUEUED) {
          stats.errors++;
          socket.conn.close();
          return false;
        }
        socket.emit('feed', msg.json);
        return true;
      },
      reset: (info) => socket.emit('reset', info),
      drop: () => socket.conn.close(),
      close: () => socket.disconnect(true),
    };
    reply({ channel: name });
    channel.subscribe(sub, after as number | undefined);
    unsubscribe = () => channel.unsubscribe(sub);
  });
  socket.on('disconnect', () => unsubscribe?.());
}
