// WebSocket endpoints (ws). Each is a `noServer` WebSocketServer mounted on the shared HTTP host.
//
// /image — seed 000's image transfer. Per image the client sends a text frame with the claim
//   {"id":1,"size":545139,"sha256":"<hex>"} then one binary frame with the bytes; the server
//   answers each image with a text frame {"id","bytes","sha256","match","serverRecvMs"}.
//   Images may be pipelined: acks come back in order. Errors close the connection with a code
//   and a reason: 1007 for a malformed claim or a binary frame without one, 1009 when a frame
//   or a claimed size exceeds the maximum message size.
//
// /echo — seed 002's round trips: every frame comes back unchanged and as the same type (text
//   as text, binary as binary), in order. A frame over the maximum message size closes with 1009.
//
// Every connection is guarded (servers/lib/ws-guard.ts): heartbeat, idle limit, and backpressure —
// while more than maxBufferedBytes of replies wait for a client, the server stops reading from it.
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { CLOSE, closeReason } from '../contracts/close-codes.ts';
import type { HttpHost } from './lib/http.ts';
import type { Limits } from './lib/config.ts';
import { guardWebSockets, isolated, replyTo } from './lib/ws-guard.ts';
import { claimProblem, verifyImage, type ImageClaim } from './lib/image.ts';
import { statsFor } from './lib/stats.ts';
import { nowMs } from './lib/clock.ts';

export type WsOptions = Pick<Limits, 'maxMessageBytes' | 'maxBufferedBytes' | 'idleMs'>;

const stats = statsFor('ws');

function byteLength(data: RawData): number {
  return Array.isArray(data)
    ? data.reduce((n, b) => n + b.length, 0)
    : data instanceof ArrayBuffer
      ? data.byteLength
      : data.length;
}

function toBuffer(data: RawData): Buffer {
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
}

// Listeners shared by every socket: no closure per held connection.
const countReceived = (data: RawData) => stats.received(byteLength(data));
const countClosed = () => stats.closed();
const countError = () => stats.errors++; // a protocol error (ws closes with its code) or a reset

/** Count traffic and connections for /stats on every socket of an endpoint. */
function counted(wss: WebSocketServer, opts: WsOptions): WebSocketServer {
  guardWebSockets(wss, { idleMs: opts.idleMs, maxBufferedBytes: opts.maxBufferedBytes }, stats); // no first-message rule: an idle open socket is legitimate until idleMs
  wss.on('connection', (ws: WebSocket) => {
    stats.opened();
    ws.on('message', countReceived);
    ws.on('close', countClosed);
    ws.on('error', countError);
  });
  return wss;
}

/** Closes with a code and a reason cut to what a close frame holds, counting the refusal. */
function refuse(ws: WebSocket, code: number, reason: string): void {
  stats.errors++;
  ws.close(code, closeReason(reason));
}

function imageEndpoint(opts: WsOptions): WebSocketServer {
  const wss = counted(new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes }), opts);
  wss.on('connection', (ws: WebSocket) => {
    let pending: ImageClaim | null = null;
    ws.on(
      'message',
      isolated(stats, (ws, data: RawData, isBinary: boolean) => {
        const receivedAt = nowMs();
        if (!isBinary) {
          if (pending)
            return refuse(ws, CLOSE.INVALID_DATA, `claim for image ${pending.id} not followed by its binary frame`);
          let claim: unknown;
          try {
            claim = JSON.parse(toBuffer(data).toString('utf8'));
          } catch {
            return refuse(ws, CLOSE.INVALID_DATA, 'claim is not valid JSON');
          }
          const problem = claimProblem(claim);
          if (problem) return refuse(ws, CLOSE.INVALID_DATA, problem);
          pending = claim as ImageClaim;
          if (pending.size > opts.maxMessageBytes)
            return refuse(
              ws,
              CLOSE.TOO_BIG,
              `claimed size ${pending.size} exceeds the maximum ${opts.maxMessageBytes}`,
            );
          return;
        }
        if (!pending)
          return refuse(ws, CLOSE.INVALID_DATA, 'binary frame without a claim (send {"id","size","sha256"} first)');
        const ack = verifyImage(pending, toBuffer(data), receivedAt);
        pending = null;
        const text = JSON.stringify(ack);
        stats.sent(Buffer.byteLength(text));
        replyTo(ws, text, false, opts.maxBufferedBytes);
      }),
    );
  });
  return wss;
}

function echoEndpoint(opts: WsOptions): WebSocketServer {
  const wss = counted(new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes }), opts);
  const echo = isolated(stats, (ws, data: RawData, isBinary: boolean) => {
    const frame = toBuffer(data);
    stats.sent(frame.length);
    // ws has already checked that a text frame is valid UTF-8, so its bytes go back as they came.
    replyTo(ws, frame, isBinary, opts.maxBufferedBytes);
  });
  wss.on('connection', (ws: WebSocket) => ws.on('message', echo));
  return wss;
}

export function mountWebSockets(host: HttpHost, opts: WsOptions): string[] {
  host.webSocket('/image', imageEndpoint(opts));
  host.webSocket('/echo', echoEndpoint(opts));
  return ['/image', '/echo'];
}
