// One node:http server hosts every HTTP-based endpoint: WebSocket paths (routed on upgrade),
// plain routes such as /stats and /healthz, and path prefixes handed whole to a library that
// does its own HTTP and upgrade handling (Socket.IO). Unknown paths get a 404 that names them.
//
// Hostile input is answered here, before any endpoint sees it: a request target that is not a
// path → 400; malformed HTTP (bad chunking, Content-Length with Transfer-Encoding, …) → 400,
// headers over Node's limit → 431, headers not sent within the handshake time → 408; a foreign
// Origin → 403; a missing or wrong token (when one is set) → 401; a POST to a control route that
// is not application/json → 415. Connections over the limit are refused, plain HTTP connections
// idle past the idle time are closed, and shutdown cuts whatever is still open after its grace.
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { CLOSE, closeReason } from '../../contracts/close-codes.ts';
import { originProblem, presentedToken, tokenMatches, type Access } from './auth.ts';
import type { Limits } from './config.ts';
import { statsFor } from './stats.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

/** Takes every request and upgrade under a path prefix. */
export interface PrefixHandler {
  request(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export interface RouteOptions {
  /** A control route: a POST must say Content-Type: application/json (a browser cannot send that cross-origin without a preflight we never grant). */
  control?: boolean;
  /** Served without the token (liveness probes). */
  open?: boolean;
}

export interface HttpHostOptions {
  access: Access;
  limits: Pick<Limits, 'maxConnections' | 'handshakeMs' | 'requestTimeoutMs' | 'idleMs'>;
}

const stats = statsFor('http');

// Listeners shared by every socket (`this` is the socket): a closure per socket would cost memory
// per held connection, and one made inside `upgrade` would keep the upgrade request (its headers
// and parser state) alive for the WebSocket's whole life through the closure's scope.
function destroyOnError(this: Duplex): void {
  this.destroy(); // a reset before a WebSocket takes the socket over
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Writes a complete HTTP error response on a raw socket (an upgrade we refuse, or a request Node could not parse) and closes it. */
export function refuseRaw(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: message });
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
    );
  }
  // A peer that does not read the answer cannot keep the socket.
  setTimeout(() => socket.destroy(), 1000).unref();
}

/** The request target as a URL, or null when it is not one (e.g. `http://[zz]/`). */
export function parseTarget(target: string | undefined): URL | null {
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}

/** Node's parser errors, answered as Node's own server would, with the reason. */
function clientErrorStatus(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'HPE_HEADERS_TIMEOUT') return 408;
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 413;
  return 400;
}

/**
 * Connections the kernel completes and queues before the server accepts them (the kernel caps it
 * at net.core.somaxconn, 4096 on current Linux). Node's default, 511, is too few for a reconnect
 * storm: 10,000 clients cut at once come back within a few hundred ms, faster than a busy event
 * loop accepts them, and past the queue the kernel drops their handshakes; they retry after 1, 3,
 * 7, 15, 31 s, and a WebSocket client gives up on its handshake after 60 s (k6), long after it
 * could have been served.
 */
export const LISTEN_BACKLOG = 65_535;

export class HttpHost {
  readonly server: Server;
  private readonly routes = new Map<string, { handler: RouteHandler; opts: RouteOptions }>();
  private readonly sockets = new Map<string, WebSocketServer>();
  private readonly prefixes = new Map<string, PrefixHandler>();
  private readonly connections = new Set<Socket>();
  private readonly access: Access;

  constructor(opts: HttpHostOptions) {
    this.access = opts.access;
    const { limits } = opts;
    this.server = createServer({
      headersTimeout: limits.handshakeMs,
      requestTimeout: Math.max(limits.requestTimeoutMs, limits.handshakeMs + 1),
      keepAliveTimeout: 5000,
      connectionsCheckingInterval: Math.min(1000, limits.handshakeMs),
    });
    this.server.maxConnections = limits.maxConnections;
    // Idle plain-HTTP connections; a long-lived response (SSE) writes heartbeats, and a WebSocket
    // has its socket timeout removed by ws (the WebSocket layer pings instead).
    this.server.setTimeout(limits.idleMs, (socket) => socket.destroy());
    this.server.on('request', (req, res) => this.request(req, res));
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket as Socket, head));
    const connections = this.connections;
    function forget(this: Socket): void {
      connections.delete(this);
    }
    this.server.on('connection', (socket: Socket) => {
      connections.add(socket);
      socket.on('close', forget); // 'close' comes once
    });
    this.server.on('connect', (_req, socket: Duplex) => {
      stats.errors++;
      refuseRaw(socket, 405, 'CONNECT is not supported: this is not a proxy');
    });
    this.server.on('drop', () => stats.errors++); // over maxConnections: Node closes it at once
    this.server.on(
      'clientError',
      (err: NodeJS.ErrnoException & { reason?: string; bytesWritten?: number }, socket: Duplex) => {
        stats.errors++;
        if (err.code === 'ECONNRESET' || !socket.writable || err.bytesWritten) return void socket.destroy();
        const status = clientErrorStatus(err.code);
        refuseRaw(
          socket,
          status,
          `${STATUS_CODES[status]}: ${err.reason ?? err.message} (${err.code ?? 'parse error'})`,
        );
      },
    );
  }

  route(method: string, path: string, handler: RouteHandler, opts: RouteOptions = {}): void {
    this.routes.set(`${method} ${path}`, { handler, opts });
  }

  /** Serve a WebSocket endpoint (the server must be created with `noServer: true`). */
  webSocket(path: string, wss: WebSocketServer): void {
    this.sockets.set(path, wss);
  }

  /** Hand every request and upgrade whose path starts with `prefix` (e.g. '/socket.io/') to `handler`, which checks the token itself. */
  delegate(prefix: string, handler: PrefixHandler): void {
    this.prefixes.set(prefix, handler);
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Close every WebSocket with 1001, stop accepting, and give open requests `graceMs`; then cut what is left. */
  async close(graceMs = 2000): Promise<void> {
    for (const wss of this.sockets.values()) {
      for (const ws of wss.clients) ws.close(CLOSE.GOING_AWAY, closeReason('server shutting down'));
    }
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const timer = setTimeout(() => {
      for (const wss of this.sockets.values()) for (const ws of wss.clients) ws.terminate();
      this.server.closeAllConnections();
      for (const socket of this.connections) socket.destroy(); // upgraded sockets (Socket.IO too) that do not read
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  private delegated(url: URL): PrefixHandler | undefined {
    for (const [prefix, handler] of this.prefixes) if (url.pathname.startsWith(prefix)) return handler;
    return undefined;
  }

  /** Why this request may not proceed, as a status and message, or null. */
  private refusal(
    req: IncomingMessage,
    url: URL,
    open: boolean,
  ): { status: number; message: string; headers?: Record<string, string> } | null {
    const origin = originProblem(this.access, req.headers.origin);
    if (origin) return { status: 403, message: origin };
    if (!open && !tokenMatches(this.access, presentedToken(req, url))) {
      return {
        status: 401,
        message: 'a valid token is required (Authorization: Bearer <token>, or ?token=)',
        headers: { 'www-authenticate': 'Bearer' },
      };
    }
    return null;
  }

  private request(req: IncomingMessage, res: ServerResponse): void {
    const url = parseTarget(req.url);
    if (!url) {
      stats.errors++;
      return sendJson(res, 400, { error: 'request target is not a valid path' }, { connection: 'close' });
    }
    const delegate = this.delegated(url);
    const route = this.routes.get(`${req.method} ${url.pathname}`);
    const refused = this.refusal(req, url, delegate !== undefined || route?.opts.open === true);
    if (refused) {
      stats.errors++;
      return sendJson(res, refused.status, { error: refused.message }, refused.headers);
    }
    if (delegate) return delegate.request(req, res);
    if (route) {
      if (
        route.opts.control &&
        req.method === 'POST' &&
        !/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')
      ) {
        stats.errors++;
        return sendJson(res, 415, {
          error: `${url.pathname} takes Content-Type: application/json, got ${JSON.stringify(req.headers['content-type'] ?? null)}`,
        });
      }
      try {
        return route.handler(req, res, url);
      } catch (err) {
        stats.errors++;
        if (res.headersSent) return void res.destroy();
        return sendJson(res, 500, { error: `internal error: ${(err as Error)?.message ?? String(err)}` });
      }
    }
    if (this.sockets.has(url.pathname))
      return sendJson(res, 426, { error: `${url.pathname} is a WebSocket endpoint: upgrade required` });
    sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', destroyOnError);
    const url = parseTarget(req.url);
    if (!url) {
      stats.errors++;
      return refuseRaw(socket, 400, 'request target is not a valid path');
    }
    const delegate = this.delegated(url);
    const refused = this.refusal(req, url, delegate !== undefined);
    if (refused) {
      stats.errors++;
      return refuseRaw(socket, refused.status, refused.message, refused.headers);
    }
    if (delegate) return delegate.upgrade(req, socket, head);
    const wss = this.sockets.get(url.pathname);
    if (!wss) return refuseRaw(socket, 404, `no WebSocket endpoint at ${url.pathname}`);
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  }
}

/** Reads a JSON request body of at most `limit` bytes; throws an HttpError (400/413) naming the problem. */
export async function readJson(req: IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw new HttpError(413, `request body of ${declared} bytes is over ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `request body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
