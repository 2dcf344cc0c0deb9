// WebSocket mechanics on k6/websockets: open with connect time and close/error accounting, a
// deadline that closes the socket if the workload does not finish in time, and the feed's
// WebSocket subscriber (subscribeWs, the counterpart of subscribeSse in sse.ts).
import { WebSocket, type ErrorEvent, type MessageEvent } from 'k6/websockets';
import { setTimeout, clearTimeout } from 'k6/timers';
import { now } from '../monitor/clock.ts';
import { CLOSE, isNormalClose } from '../../../contracts/close-codes.ts';
import type { FeedMessage, ResetInfo, SubscribeRequest } from '../../../contracts/feed.ts';
import { connectTime, errors } from '../monitor/metrics.ts';
import type { Subscription } from '../workload/feed.ts';
import { lagProbe } from '../monitor/lag-probe.ts';
import { authHeaders } from './auth.ts';
import { reconnectDelay } from './backoff.ts';

interface CloseEvent {
  code?: number;
  reason?: string;
  timestamp: number;
}

interface Events {
  open: { timestamp: number };
  message: MessageEvent;
  error: ErrorEvent;
  close: CloseEvent;
}

/** addEventListener with the event type each event really has (k6's typings use one union). */
export function on<K extends keyof Events>(ws: WebSocket, event: K, listener: (e: Events[K]) => void): void {
  ws.addEventListener(event, listener as unknown as (e: MessageEvent | ErrorEvent) => void);
}

export interface Socket {
  ws: WebSocket;
  /** Called with the close code and reason when the socket closes for any reason. */
  onClosed(fn: (code: number, reason: string, atMs: number) => void): void;
}

/**
 * Opens a binary-capable WebSocket, offering `protocols` as subprotocols; records
 * rtb_connect_time (constructor → open event) unless `recordConnect` is false: a protocol on top
 * (Socket.IO) whose connection is usable later records its own. An error event and an abnormal
 * close count in rtb_errors unless `countDrops` is false: a client that reconnects and resumes
 * (the feed) takes a dropped connection in its stride and counts what it could not recover from.
 */
export function openSocket(
  url: string,
  onOpen: (ws: WebSocket, atMs: number) => void,
  { recordConnect = true, protocols = [] as string[], countDrops = true } = {},
): Socket {
  const started = now();
  // k6/websockets ignores its `protocols` argument; the handshake header offers them instead. The
  // token (-e TOKEN) goes as an Authorization header.
  const headers: Record<string, string> = { ...authHeaders() };
  if (protocols.length > 0) headers['Sec-WebSocket-Protocol'] = protocols.join(', ');
  const ws = Object.keys(headers).length > 0 ? new WebSocket(url, null, { headers }) : new WebSocket(url);
  const stopProbe = lagProbe(); // for as long as the socket is open
  ws.binaryType = 'arraybuffer';
  const closers: Array<(code: number, reason: string, atMs: number) => void> = [];
  on(ws, 'open', (e) => {
    if (recordConnect) connectTime.add(e.timestamp - started);
    onOpen(ws, e.timestamp);
  });
  on(ws, 'error', (e) => {
    if (countDrops) errors.add(1, { reason: `ws error: ${e.error}`.slice(0, 120) });
    stopProbe(); // a failed open has no close event
  });
  on(ws, 'close', (e) => {
    stopProbe();
    const code = e.code ?? CLOSE.NO_STATUS;
    if (!isNormalClose(code) && countDrops) errors.add(1, { reason: `ws close ${code}` });
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
  let ws: WebSocket;
  let closing = false;
  let attempt = 0;
  let first = true;
  const stopProbe = lagProbe(); // for the subscription's life, reconnections included
  let opened = false; // this attempt
  const connect = () => {
    if (closing) return; // closed while a reconnect was waiting: open nothing more
    opened = false;
    const started = now();
    const headers = authHeaders();
    ws = Object.keys(headers).length > 0 ? new WebSocket(url, null, { headers }) : new WebSocket(url);
    on(ws, 'open', (e) => {
      if (first) connectTime.add(e.timestamp - started);
      first = false;
      opened = true;
      const request: SubscribeRequest = { op: 'subscribe', channel, after: sub.lastSeq || undefined };
      ws.send(JSON.stringify(request));
    });
    on(ws, 'message', (e) => {
      const m = JSON.parse(e.data as string) as FeedMessage & ResetInfo & { op?: string };
      if (m.op === 'subscribed') attempt = 0;
      else if (m.op === 'reset') sub.reset(m);
      else if (m.op === undefined) sub.message(m, e.timestamp);
    });
    on(ws, 'close', (e) => {
      if (closing) return;
      if (!opened) errors.add(1, { reason: `connect failed: ws close ${e.code ?? CLOSE.NO_STATUS}` });
      if (e.code === CLOSE.INVALID_DATA || e.code === CLOSE.POLICY) {
        errors.add(1, { reason: `ws close ${e.code}` });
        stopProbe();
        return; // the server refused the subscription: retrying would not help
      }
      sub.disconnected(e.timestamp);
      setTimeout(connect, reconnectDelay(attempt++));
    });
  };
  connect();
  return {
    close: () => {
      closing = true;
      stopProbe();
      ws.close();
    },
  };
}
