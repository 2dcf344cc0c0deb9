// What every WebSocket endpoint needs against clients that stall or never read:
// - a heartbeat: a ping every `pingMs` from when the connection opened (so pings to many
//   connections are spread as their opens were, not sent to all of them in one sweep); a peer that
//   has not answered the previous one (gone, or stalled halfway through a frame, which also blocks
//   its pong) is terminated;
// - an idle limit: no message either way for `idleMs` → close 1008 (endpoints mark long-lived
//   subscriptions as exempt);
// - a first-message limit for endpoints that expect a request first (`handshakeMs`);
// - backpressure: `replyTo` sends and, while more than `maxBufferedBytes` wait for the peer,
//   stops reading from it (ws pause/resume), so a client that never reads its replies cannot make
//   the server buffer without bound; reading resumes once the backlog halves.
import type { WebSocket, WebSocketServer } from 'ws';
import { CLOSE, closeReason } from '../../contracts/close-codes.ts';
import type { ProtocolStats } from './stats.ts';

export interface GuardOptions {
  idleMs: number;
  /** Close a connection that has sent nothing this long after opening; 0 = no such rule. */
  handshakeMs?: number;
  maxBufferedBytes: number;
}

interface State {
  openedAt: number;
  /** When it was last pinged (at first: when it opened). */
  pingedAt: number;
  lastActivity: number;
  gotMessage: boolean;
  awaitingPong: boolean;
  idleExempt: boolean;
  paused: boolean;
}

const states = new WeakMap<WebSocket, State>();
const SWEEP_MS = 1000;

// Listeners shared by every connection (`this` is the socket): no closure per held connection.
function gotMessage(this: WebSocket): void {
  const s = states.get(this);
  if (!s) return;
  s.gotMessage = true;
  s.lastActivity = Date.now();
}

function gotPong(this: WebSocket): void {
  const s = states.get(this);
  if (s) s.awaitingPong = false;
}

/** Guards every connection of `wss`; returns a function that stops the sweeper. */
export function guardWebSockets(wss: WebSocketServer, opts: GuardOptions, stats: ProtocolStats): () => void {
  const pingMs = Math.max(1000, Math.min(30_000, Math.floor(opts.idleMs / 2)));
  wss.on('connection', (ws: WebSocket) => {
    const now = Date.now();
    const state: State = {
      openedAt: now,
      pingedAt: now,
      lastActivity: now,
      gotMessage: false,
      awaitingPong: false,
      idleExempt: false,
      paused: false,
    };
    states.set(ws, state);
    ws.on('message', gotMessage);
    ws.on('pong', gotPong);
  });
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const ws of wss.clients) {
      const s = states.get(ws);
      if (!s || ws.readyState !== ws.OPEN) continue;
      if (opts.handshakeMs && !s.gotMessage && now - s.openedAt > opts.handshakeMs) {
        stats.errors++;
        ws.close(CLOSE.POLICY, closeReason(`no request within ${opts.handshakeMs} ms`));
        continue;
      }
      if (!s.idleExempt && now - s.lastActivity > opts.idleMs) {
        stats.errors++;
        ws.close(CLOSE.POLICY, closeReason(`idle for ${opts.idleMs} ms`));
        continue;
      }
      if (now - s.pingedAt < pingMs) continue;
      s.pingedAt = now;
      if (s.awaitingPong) {
        stats.errors++;
        ws.terminate(); // no pong for a whole interval: the peer is gone or stalled mid-frame
        continue;
      }
      s.awaitingPong = true;
      ws.ping();
    }
  }, SWEEP_MS);
  sweeper.unref();
  return () => clearInterval(sweeper);
}

/** Marks a connection as a long-lived subscription: silence from the client is expected, the heartbeat still applies. */
export function exemptFromIdle(ws: WebSocket): void {
  const s = states.get(ws);
  if (s) s.idleExempt = true;
}

/** Counts traffic towards the idle limit (for sends that do not go through replyTo). */
export function touch(ws: WebSocket): void {
  const s = states.get(ws);
  if (s) s.lastActivity = Date.now();
}

/** Sends `data`, and stops reading from the peer while more than `maxBufferedBytes` wait to be written to it. */
export function replyTo(
  ws: WebSocket,
  data: string | Buffer | Uint8Array,
  binary: boolean,
  maxBufferedBytes: number,
): void {
  const s = states.get(ws);
  if (s) s.lastActivity = Date.now();
  ws.send(data, { binary }, () => {
    if (s?.paused && ws.bufferedAmount <= maxBufferedBytes / 2) {
      s.paused = false;
      ws.resume();
    }
  });
  if (s && !s.paused && ws.bufferedAmount > maxBufferedBytes) {
    s.paused = true;
    ws.pause();
  }
}

/**
 * Wraps an event handler so that an unexpected error ends only the connection it came from:
 * close 1011 with the error's message, counted in `stats.errors`. The result is a listener that
 * takes its socket from `this` (as EventEmitter calls it), so one wrapper can serve every
 * connection of an endpoint: `ws.on('message', handler)` without a closure per connection.
 */
export function isolated<A extends unknown[]>(
  stats: ProtocolStats,
  fn: (ws: WebSocket, ...args: A) => void,
): (this: WebSocket, ...args: A) => void {
  return function (this: WebSocket, ...args: A) {
    try {
      fn(this, ...args);
    } catch (err) {
      stats.errors++;
      this.close(CLOSE.INTERNAL_ERROR, closeReason(`internal error: ${(err as Error)?.message ?? String(err)}`));
    }
  };
}

/** True while reading from `ws` is paused for backpressure. */
export function isPaused(ws: WebSocket): boolean {
  return states.get(ws)?.paused ?? false;
}
