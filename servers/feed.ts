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
//       same JSON as SSE's data), {"op":"reset",…} when resuming too far back (or ahead of the
//       channel). Bad requests close with 1007 (not JSON) or 1008 (bad or unknown subscription)
//       and a reason; no subscribe within the handshake time → 1008.
// Limits (see --help, /stats): a channel's rate × bytes and all channels' together have a budget
// (413 / 429), replay memory is shared out between channels, a channel publishes only while it
// has subscribers or for a grace period after the last one left, on-demand publishes are held to
// the channel's budget (429), and a subscriber more than maxBufferedBytes behind is dropped.
// Control POSTs take Content-Type: application/json only (415).
// Every message body is {"seq","t","ch","p"}: sequence number, server send time (ms since the
// epoch), channel, payload of `bytes` characters.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { CLOSE, closeReason } from '../contracts/close-codes.ts';
import { HttpError, readJson, sendJson, type HttpHost } from './lib/http.ts';
import {
  DEFAULT_FEED_LIMITS,
  Feed,
  FeedError,
  type Channel,
  type FeedLimits,
  type FeedMessage,
  type Subscriber,
} from './lib/feed.ts';
import type { ResetInfo } from '../contracts/feed.ts';
import { exemptFromIdle, guardWebSockets, isolated } from './lib/ws-guard.ts';
import { statsFor } from './lib/stats.ts';

export interface FeedOptions {
  sse: boolean;
  ws: boolean;
  /** A subscriber whose unsent bytes exceed this is dropped (slow client). */
  maxBufferedBytes: number;
  heartbeatMs: number;
  /** Reconnection time announced to SSE clients. */
  retryMs: number;
  /** A WebSocket must subscribe within this; idle and heartbeat as every WebSocket endpoint. */
  handshakeMs: number;
  idleMs: number;
  limits: FeedLimits;
}

export const DEFAULT_FEED_OPTIONS = {
  maxBufferedBytes: 4 * 1024 * 1024,
  heartbeatMs: 15_000,
  retryMs: 500,
  handshakeMs: 10_000,
  idleMs: 120_000,
  limits: DEFAULT_FEED_LIMITS,
};

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

// A held connection costs the server what Node's socket and request objects cost plus what is
// written below, so the per-stream part is kept small: one subscriber object whose methods live
// on its class, listeners shared by every connection (they take the socket from `this`), and one
// heartbeat timer for all SSE streams instead of one per stream (test/servers/held-memory.test.ts).

/** One SSE stream as the feed sees it. */
class SseSubscriber implements Subscriber {
  constructor(
    readonly res: ServerResponse,
    private readonly channel: Channel,
    private readonly maxBufferedBytes: number,
  ) {}

  private write(text: string): void {
    this.res.write(text);
    sseStats.sent(Buffer.byteLength(text));
  }
  deliver(msg: FeedMessage): boolean {
    if (this.res.writableLength > this.maxBufferedBytes) {
      sseStats.errors++;
      this.res.destroy();
      return false;
    }
    this.write(`id: ${msg.seq}\ndata: ${msg.json}\n\n`);
    return true;
  }
  reset(info: ResetInfo & { reason: string }): void {
    this.write(`event: reset\ndata: ${JSON.stringify(info)}\n\n`);
  }
  drop(): void {
    this.res.destroy();
  }
  close(): void {
    this.res.end();
  }
  /** The response closed, however: the stream is over. */
  closed(): void {
    this.channel.unsubscribe(this);
  }
}

/** How often the SSE heartbeat timer writes to one group of streams. */
const HEARTBEAT_TICK_MS = 1000;

function sseStream(feed: Feed, opts: FeedOptions): { handler: Handler; stop: () => void } {
  // One heartbeat timer for every stream, a comment every heartbeatMs keeping idle proxies from
  // cutting them, its writes spread over the interval: streams are dealt into one group per tick
  // of heartbeatMs and each tick writes to one group. Writing to every stream at once took one turn
  // of the event loop for all of them (19,000 writes at 19,000 streams), and every message due meanwhile waited.
  const groups = Array.from(
    { length: Math.max(1, Math.round(opts.heartbeatMs / HEARTBEAT_TICK_MS)) },
    () => new Set<SseSubscriber>(),
  );
  let dealt = 0;
  let turn = 0;
  const heartbeat = setInterval(() => {
    for (const sub of groups[turn++ % groups.length]!) sub.res.write(': hb\n\n');
  }, opts.heartbeatMs / groups.length);
  heartbeat.unref();
  const handler: Handler = (req, res, url) => {
    const channel = feed.channel(url.searchParams.get('channel'));
    const after = resumeAfter(req.headers['last-event-id'] ?? url.searchParams.get('lastEventId'));
    const retryRaw = url.searchParams.get('retry');
    if (retryRaw !== null && !/^\d{1,6}$/.test(retryRaw))
      throw new FeedError(400, `retry must be milliseconds, got '${retryRaw}'`);
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${retryRaw ?? opts.retryMs}\n\n`);
    sseStats.opened();
    const sub = new SseSubscriber(res, channel, opts.maxBufferedBytes);
    const group = groups[dealt++ % groups.length]!;
    group.add(sub);
    res.on('close', () => {
      group.delete(sub);
      sub.closed();
      sseStats.closed();
    });
    channel.subscribe(sub, after);
  };
  return { handler, stop: () => clearInterval(heartbeat) };
}

/** One WebSocket subscription as the feed sees it. */
class WsSubscriber implements Subscriber {
  constructor(
    private readonly ws: WebSocket,
    readonly channel: Channel,
    private readonly maxBufferedBytes: number,
  ) {}

  send(text: string): void {
    this.ws.send(text);
    wsStats.sent(Buffer.byteLength(text));
  }
  deliver(msg: FeedMessage): boolean {
    if (this.ws.bufferedAmount > this.maxBufferedBytes) {
      wsStats.errors++;
      this.ws.terminate();
      return false;
    }
    this.send(msg.json);
    return true;
  }
  reset(info: ResetInfo & { reason: string }): void {
    this.send(JSON.stringify({ op: 'reset', ...info }));
  }
  drop(): void {
    this.ws.terminate();
  }
  close(): void {
    this.ws.close(CLOSE.GOING_AWAY, closeReason('server shutting down'));
  }
}

function wsFeed(feed: Feed, opts: FeedOptions): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  guardWebSockets(
    wss,
    { idleMs: opts.idleMs, handshakeMs: opts.handshakeMs, maxBufferedBytes: opts.maxBufferedBytes },
    wsStats,
  );
  const subscriptions = new WeakMap<WebSocket, WsSubscriber>();
  const refuse = (ws: WebSocket, code: number, reason: string) => {
    wsStats.errors++;
    ws.close(code, closeReason(reason));
  };
  const onMessage = isolated(wsStats, (ws, data: RawData, isBinary: boolean) => {
    wsStats.received((data as Buffer).length ?? 0);
    let req: { op?: unknown; channel?: unknown; after?: unknown };
    try {
      if (isBinary) throw new Error();
      req = JSON.parse(String(data));
    } catch {
      return refuse(ws, CLOSE.INVALID_DATA, 'expected a JSON text frame {"op":"subscribe","channel":…}');
    }
    if (typeof req !== 'object' || req === null || req.op !== 'subscribe')
      return refuse(
        ws,
        CLOSE.POLICY,
        `unknown op ${JSON.stringify((req as { op?: unknown })?.op)} (expected "subscribe")`,
      );
    if (subscriptions.has(ws)) return refuse(ws, CLOSE.POLICY, 'already subscribed on this connection');
    if (typeof req.channel !== 'string') return refuse(ws, CLOSE.POLICY, 'channel must be a string');
    if (req.after !== undefined && (!Number.isSafeInteger(req.after) || (req.after as number) < 0))
      return refuse(ws, CLOSE.POLICY, `after must be a sequence number, got ${JSON.stringify(req.after)}`);
    let channel;
    try {
      channel = feed.channel(req.channel);
    } catch (err) {
      return refuse(ws, CLOSE.POLICY, (err as Error).message);
    }
    const sub = new WsSubscriber(ws, channel, opts.maxBufferedBytes);
    exemptFromIdle(ws);
    sub.send(JSON.stringify({ op: 'subscribed', channel: channel.spec.name }));
    channel.subscribe(sub, req.after as number | undefined);
    subscriptions.set(ws, sub);
  });
  function onClose(this: WebSocket): void {
    const sub = subscriptions.get(this);
    sub?.channel.unsubscribe(sub);
    wsStats.closed();
  }
  const onError = () => wsStats.errors++;
  wss.on('connection', (ws: WebSocket) => {
    wsStats.opened();
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.on('error', onError);
  });
  return wss;
}

/** Mounts the feed's control routes and its SSE and/or WebSocket transports; returns the paths and a stop. */
export function mountFeed(host: HttpHost, opts: FeedOptions): { feed: Feed; paths: string[]; stop: () => void } {
  const feed = new Feed(opts.limits);
  host.route(
    'POST',
    '/feed/channels',
    guarded(async (req, res) => {
      const spec = feed.parseSpec(await readJson(req));
      const { created } = feed.declare(spec);
      sendJson(res, created ? 201 : 200, { channel: spec });
    }),
    { control: true },
  );
  host.route(
    'DELETE',
    '/feed/channels',
    guarded((_req, res, url) => {
      feed.remove(url.searchParams.get('name') ?? '');
      res.writeHead(204).end();
    }),
    { control: true },
  );
  host.route(
    'POST',
    '/feed/publish',
    guarded((_req, res, url) =>
      sendJson(res, 200, { seq: feed.channel(url.searchParams.get('channel')).publishNow().seq }),
    ),
    { control: true },
  );
  host.route(
    'POST',
    '/feed/drop',
    guarded((_req, res, url) => {
      // ?all=true (and no channel): every subscriber of every channel at once (the capacity runs' reconnect storm)
      const all = url.searchParams.get('all') === 'true' && !url.searchParams.has('channel');
      sendJson(res, 200, {
        dropped: all ? feed.dropEverything() : feed.channel(url.searchParams.get('channel')).dropAll(),
      });
    }),
    { control: true },
  );
  const paths: string[] = [];
  let stopSse = () => {};
  if (opts.sse) {
    const sse = sseStream(feed, opts);
    host.route('GET', '/sse', guarded(sse.handler));
    stopSse = sse.stop;
    paths.push('/sse');
  }
  if (opts.ws) {
    host.webSocket('/feed', wsFeed(feed, opts));
    paths.push('/feed');
  }
  return {
    feed,
    paths,
    stop: () => {
      stopSse();
      feed.close();
    },
  };
}
