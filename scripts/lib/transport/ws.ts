// WebSocket mechanics on our k6/x/ws (extensions/ws: lean per held socket, frames timestamped in
// Go as they are read): open with connect time and close/error accounting, a deadline that closes the socket if the workload does not finish in time, and the feed's
// WebSocket subscriber (subscribeWs, the counterpart of subscribeSse in sse.ts).
import { WebSocket, type CloseEvent, type EventMap } from 'k6/x/ws';
import { setTimeout, clearTimeout } from 'k6/timers';
import { now } from '../monitor/clock.ts';
import { CLOSE, isNormalClose } from '../../../contracts/close-codes.ts';
import { readFeedMessage, type FeedMessage, type ResetInfo, type SubscribeRequest } from '../../../contracts/feed.ts';
import { connectTime, errors } from '../monitor/metrics.ts';
import type { Subscription } from '../workload/feed.ts';
import { lagProbe } from '../monitor/lag-probe.ts';
import { authHeaders } from './auth.ts';
import { reconnectDelay } from './backoff.ts';

export interface Socket {
  ws: WebSocket;
  /** Called with the close code and reason when the socket closes for any reason. */
  onClosed(fn: (code: number, reason: string, atMs: number) => void): void;
}

/**
 * Opens a binary-capable WebSocket, offering `protocols` as subprotocols; records
 * rtb_connect_time (constructor → open event) unless `recordConnect` is false: a protocol on top
 * (Socket.IO) whose connection is usable later records its own. A failed connection (its error
 * event, or else an abnormal close) counts once in rtb_errors unless `countDrops` is false: a client that reconnects and resumes
 * (the feed) takes a dropped connection in its stride and counts what it could not recover from.
 */
export function openSocket(
  url: string,
  onOpen: (ws: WebSocket, atMs: number) => void,
  { recordConnect = true, protocols = [] as string[], countDrops = true } = {},
): Socket {
  const started = now();
  // the token (-e TOKEN) goes as an Authorization header
  const ws = new WebSocket(url, protocols, { headers: authHeaders() });
  const stopProbe = lagProbe(); // for as long as the socket is open
  ws.binaryType = 'arraybuffer';
  const closers: Array<(code: number, reason: string, atMs: number) => void> = [];
  let failed = false; // an error event came: its close (1006) follows and is not counted again
  ws.addEventListener('open', (e) => {
    if (recordConnect) connectTime.add(e.timestamp - started);
    onOpen(ws, e.timestamp);
  });
  ws.addEventListener('error', (e) => {
    failed = true;
    if (countDrops) errors.add(1, { reason: `ws error: ${e.error}`.slice(0, 120) });
  });
  ws.addEventListener('close', (e) => {
    stopProbe();
    const code = e.code ?? CLOSE.NO_STATUS;
    if (!isNormalClose(code) && countDrops && !failed) errors.add(1, { reason: `ws close ${code}` });
    for (const fn of closers) fn(code, e.reason ?? '', e.timestamp);
  });
  return { ws, onClosed: (fn) => closers.push(fn) };
}

/** Calls `onExpire` after `ms` unless cancelled; returns the cancel function. */
export function deadline(ms: number, onExpire: () => void): () => void {
  const timer = setTimeout(onExpire, ms);
  return () => clearTimeout(timer);
}

/**
 * The feed over WebSocket: subscribes to `channel` at `url` (/feed) and keeps the subscription
 * alive: when the connection drops it reconnects with exponential backoff with full jitter (a random time up to 100 ms, doubling to 5 s; backoff.ts)
 * and asks to resume after the last sequence number `sub` saw. rtb_connect_time is the first
 * connect only; an attempt that closes before it opened counts in rtb_errors ('connect failed'). Wire shapes: contracts/feed.ts.
 */
export function subscribeWs(url: string, channel: string, sub: Subscription): { close(): void } {
  return new WsFeedSubscription(url, channel, sub);
}

// A held subscription costs k6 memory for as long as it lives, and in k6's JavaScript runtime
// every function object is a few hundred bytes: the listeners below are shared by every
// subscription of the VU and find theirs from the event's socket (`target`).
const feedSockets = new Map<WebSocket, WsFeedSubscription>();
const subscriptionOf = (e: object) => feedSockets.get((e as { target?: unknown }).target as WebSocket);

class WsFeedSubscription {
  private ws!: WebSocket;
  private closing = false;
  private attempt = 0;
  private first = true;
  /** This attempt opened. */
  private opened = false;
  private started = 0;
  private readonly stopProbe = lagProbe(); // for the subscription's life, reconnections included

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly sub: Subscription,
  ) {
    this.connect();
  }

  private connect(): void {
    if (this.closing) return; // closed while a reconnect was waiting: open nothing more
    this.opened = false;
    this.started = now();
    const ws = new WebSocket(this.url, null, { headers: authHeaders() });
    this.ws = ws;
    feedSockets.set(ws, this);
    ws.addEventListener('open', onFeedOpen);
    ws.addEventListener('message', onFeedMessage);
    ws.addEventListener('close', onFeedClose);
  }

  open(atMs: number): void {
    if (this.first) connectTime.add(atMs - this.started);
    this.first = false;
    this.opened = true;
    const request: SubscribeRequest = { op: 'subscribe', channel: this.channel, after: this.sub.lastSeq || undefined };
    this.ws.send(JSON.stringify(request));
  }

  message(data: string, atMs: number): void {
    const m = readFeedMessage(data) as FeedMessage & ResetInfo & { op?: string };
    if (m.op === 'subscribed') this.attempt = 0;
    else if (m.op === 'reset') this.sub.reset(m);
    else if (m.op === undefined) this.sub.message(m, atMs);
  }

  closed(ws: WebSocket, e: CloseEvent): void {
    feedSockets.delete(ws);
    if (this.closing) return;
    if (!this.opened) errors.add(1, { reason: `connect failed: ws close ${e.code ?? CLOSE.NO_STATUS}` });
    if (e.code === CLOSE.INVALID_DATA || e.code === CLOSE.POLICY) {
      errors.add(1, { reason: `ws close ${e.code}` });
      this.stopProbe();
      return; // the server refused the subscription: retrying would not help
    }
    this.sub.disconnected(e.timestamp);
    setTimeout(() => this.connect(), reconnectDelay(this.attempt++));
  }

  /** Ends the subscription; a handshake under way (a reconnect) is abandoned. */
  close(): void {
    this.closing = true;
    this.stopProbe();
    this.ws.close();
  }
}

function onFeedOpen(e: EventMap['open']): void {
  subscriptionOf(e)?.open(e.timestamp);
}
function onFeedMessage(e: EventMap['message']): void {
  subscriptionOf(e)?.message(e.data as string, e.timestamp);
}
function onFeedClose(e: EventMap['close']): void {
  subscriptionOf(e)?.closed(e.target as WebSocket, e);
}
