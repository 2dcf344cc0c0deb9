// Server push (seed 001): the same channel feed over Server-Sent Events and WebSocket.
//
// Control (HTTP, JSON):
//   POST   /feed/channels            {"name","rate","bytes"} → 201 created, 200 exists, 409 differs
//   DELETE /feed/channels?name=x     → 204
//   POST   /feed/publish?channel=x   publish one message now → {"seq"}
//   POST   /feed/drop?channel=x      cut every subscriber's connection (a network failure) → {"dropped"}
//   POST   /feed/drop?all=true       the same for every channel at once (a reconnect storm)
// SSE:  GET /sse?channel=x[&retry=ms]  text/event-stream; `retry:` first, then
//       `id: <seq>` + `data: <json>` per message, `: hb` heartbeat comments, and on resume
//       (Last-Event-ID header, or ?lastEventId=) the buffered messages after that id, or an
//       `event: reset` naming what was lost when it is too far behind.
// WS:   /feed  client sends {"op":"subscribe","channel":"x","after":<seq>?}; server answers
//       {"op":"subscribed","channel":"x","seq":<latest>}, then one text frame per message (the
//       same JSON as SSE's data), {"op":"reset",…} when resuming too far back. Bad requests close
//       with 1007 (not JSON) or 1008 (bad or unknown subscription) and a reason.
// Every message body is {"seq","t","ch","p"}: sequence number, server send time (ms since the
// epoch), channel, payload of `bytes` characters.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { HttpError, readJson, sendJson, type HttpHost } from './lib/http.ts';
import { Feed, FeedError, type Subscriber } from './lib/feed.ts';
import { statsFor } from './lib/stats.ts';

export interface FeedOptions {
  sse: boolean;
  ws: boolean;
  /** A subscriber whose unsent bytes exceed this is dropped (slow client). */
  maxBufferedBytes: number;
  heartbeatMs: number;
  /** Reconnection time announced to SSE clients. */
  retryMs: number;
}

export const DEFAULT_FEED_OPTIONS = { maxBufferedBytes: 4 * 1024 * 1024, heartbeatMs: 15_000, retryMs: 500 };

const sseStats = statsFor('sse');
const wsStats = statsFor('ws');

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

/** Runs a route, turning FeedError/HttpError into a JSON error with its status. */
const guarded = (fn: Handler) => (req: IncomingMessage, res: ServerResponse, url: URL) => {
  Promise.resolve()
    .then(() => fn(req, res, url))
    .catch((err: unknown) => {
      if (res.headersSent) return res.destroy();
      if (err instanceof FeedError || err instanceof HttpError) sendJson(res, err.status, { error: err.message });
      else sendJson(res, 500, { error: `internal error: ${(err as Error)?.message ?? String(err)}` });
    });
};

/** Parses a resume point ('' or absent → none); a non-integer is a 400 naming it. */
function resumeAfter(raw: string | string[] | null | undefined): number | undefined {
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (v === undefined || v === null || v === '') return undefined;
  if (!/^\d{1,15}$/.test(v)) throw new FeedError(400, `Last-Event-ID must be a message sequence number, got '${v}'`);
  return Number(v);
}

function sseStream(feed: Feed, opts: FeedOptions): Handler {
  return (req, res, url) => {
    const channel = feed.channel(url.searchParams.get('channel'));
    const after = resumeAfter(req.headers['last-event-id'] ?? url.searchParams.get('lastEventId'));
    const retryRaw = url.searchParams.get('retry');
    if (retryRaw !== null && !/^\d{1,6}$/.test(retryRaw)) throw new FeedError(400, `retry must be milliseconds, got '${retryRaw}'`);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(`retry: ${retryRaw ?? opts.retryMs}\n\n`);
    sseStats.opened();
    const write = (text: string) => {
      res.write(text);
      sseStats.sent(Buffer.byteLength(text));
    };
    const sub: Subscriber = {
      deliver: (msg) => {
        if (res.writableLength > opts.maxBufferedBytes) {
          sseStats.errors++;
          res.destroy();
          return false;
        }
        write(`id: ${msg.seq}\ndata: ${msg.json}\n\n`);
        return true;
      },
      reset: (info) => write(`event: reset\ndata: ${JSON.stringify({ reason: 'too far behind: messages no longer buffered', ...info })}\n\n`),
      drop: () => res.destroy(),
    };
    const heartbeat = setInterval(() => res.write(': hb\n\n'), opts.heartbeatMs);
    res.on('close', () => {
      clearInterval(heartbeat);
      channel.unsubscribe(sub);
      sseStats.closed();
    });
    channel.subscribe(sub, after);
  };
}

function wsFeed(feed: Feed, opts: FeedOptions): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  wss.on('connection', (ws: WebSocket) => {
    wsStats.opened();
    let subscribed: (() => void) | null = null;
    const send = (text: string) => {
      ws.send(text);
      wsStats.sent(Buffer.byteLength(text));
    };
    ws.on('message', (data, isBinary) => {
      wsStats.received((data as Buffer).length ?? 0);
      let req: { op?: unknown; channel?: unknown; after?: unknown };
      try {
        if (isBinary) throw new Error();
        req = JSON.parse(String(data));
      } catch {
        return ws.close(1007, 'expected a JSON text frame {"op":"subscribe","channel":…}');
      }
      if (typeof req !== 'object' || req === null || req.op !== 'subscribe') return ws.close(1008, `unknown op ${JSON.stringify((req as { op?: unknown })?.op)} (expected "subscribe")`);
      if (subscribed) return ws.close(1008, 'already subscribed on this connection');
      if (typeof req.channel !== 'string') return ws.close(1008, 'channel must be a string');
      if (req.after !== undefined && (!Number.isInteger(req.after) || (req.after as number) < 0)) return ws.close(1008, `after must be a sequence number, got ${JSON.stringify(req.after)}`);
      let channel;
      try {
        channel = feed.channel(req.channel);
      } catch (err) {
        return ws.close(1008, (err as Error).message.slice(0, 120));
      }
      const sub: Subscriber = {
        deliver: (msg) => {
          if (ws.bufferedAmount > opts.maxBufferedBytes) {
            wsStats.errors++;
            ws.terminate();
            return false;
          }
          send(msg.json);
          return true;
        },
        reset: (info) => send(JSON.stringify({ op: 'reset', reason: 'too far behind: messages no longer buffered', ...info })),
        drop: () => ws.terminate(),
      };
      send(JSON.stringify({ op: 'subscribed', channel: channel.spec.name }));
      channel.subscribe(sub, req.after as number | undefined);
      subscribed = () => channel.unsubscribe(sub);
    });
    ws.on('close', () => {
      subscribed?.();
      wsStats.closed();
    });
    ws.on('error', () => wsStats.errors++);
  });
  return wss;
}

/** Mounts the feed's control routes and its SSE and/or WebSocket transports; returns the paths and a stop. */
export function mountFeed(host: HttpHost, opts: FeedOptions): { feed: Feed; paths: string[]; stop: () => void } {
  const feed = new Feed();
  host.route('POST', '/feed/channels', guarded(async (req, res) => {
    const spec = feed.parseSpec(await readJson(req));
    const { created } = feed.declare(spec);
    sendJson(res, created ? 201 : 200, { channel: spec });
  }));
  host.route('DELETE', '/feed/channels', guarded((_req, res, url) => {
    feed.remove(url.searchParams.get('name') ?? '');
    res.writeHead(204).end();
  }));
  host.route('POST', '/feed/publish', guarded((_req, res, url) => sendJson(res, 200, { seq: feed.channel(url.searchParams.get('channel')).publish().seq })));
  host.route('POST', '/feed/drop', guarded((_req, res, url) => {
    // ?all=true: every subscriber of every channel at once (the capacity runs' reconnect storm)
    const all = url.searchParams.get('all') === 'true' && !url.searchParams.has('channel');
    sendJson(res, 200, { dropped: all ? feed.dropEverything() : feed.channel(url.searchParams.get('channel')).dropAll() });
  }));
  const paths: string[] = [];
  if (opts.sse) {
    host.route('GET', '/sse', guarded(sseStream(feed, opts)));
    paths.push('/sse');
  }
  if (opts.ws) {
    host.webSocket('/feed', wsFeed(feed, opts));
    paths.push('/feed');
  }
  return { feed, paths, stop: () => feed.close() };
}
