// WebSocket mechanics on k6/websockets: open with connect time and close/error accounting, and a
// deadline that closes the socket if the workload does not finish in time.
import { WebSocket, type ErrorEvent, type MessageEvent } from 'k6/websockets';
import { setTimeout, clearTimeout } from 'k6/timers';
import { connectTime, errors } from '../monitor/metrics.ts';

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
 * Opens a binary-capable WebSocket; records rtb_connect_time (constructor → open event) unless
 * `recordConnect` is false: a protocol on top (Socket.IO) whose connection is usable later
 * records its own.
 */
export function openSocket(url: string, onOpen: (ws: WebSocket, atMs: number) => void, { recordConnect = true } = {}): Socket {
  const started = Date.now();
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const closers: Array<(code: number, reason: string, atMs: number) => void> = [];
  on(ws, 'open', (e) => {
    if (recordConnect) connectTime.add(e.timestamp - started);
    onOpen(ws, e.timestamp);
  });
  on(ws, 'error', (e) => {
    errors.add(1, { reason: `ws error: ${e.error}`.slice(0, 120) });
  });
  on(ws, 'close', (e) => {
    const code = e.code ?? 1005;
    if (code !== 1000 && code !== 1005) errors.add(1, { reason: `ws close ${code}` });
    for (const fn of closers) fn(code, e.reason ?? '', e.timestamp);
  });
  return { ws, onClosed: (fn) => closers.push(fn) };
}

/** Calls `onExpire` after `ms` unless cancelled; returns the cancel function. */
export function deadline(ms: number, onExpire: () => void): () => void {
  const timer = setTimeout(onExpire, ms);
  return () => clearTimeout(timer);
}
