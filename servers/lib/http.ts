// One node:http server hosts every HTTP-based endpoint: WebSocket paths (routed on upgrade),
// plain routes such as /stats and /healthz, and path prefixes handed whole to a library that
// does its own HTTP and upgrade handling (Socket.IO). Unknown paths get a 404 that names them.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

/** Takes every request and upgrade under a path prefix. */
export interface PrefixHandler {
  request(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export class HttpHost {
  readonly server: Server;
  private readonly routes = new Map<string, RouteHandler>();
  private readonly sockets = new Map<string, WebSocketServer>();
  private readonly prefixes = new Map<string, PrefixHandler>();

  constructor() {
    this.server = createServer((req, res) => this.request(req, res));
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket as Socket, head));
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  route(method: string, path: string, handler: RouteHandler): void {
    this.routes.set(`${method} ${path}`, handler);
  }

  /** Serve a WebSocket endpoint (the server must be created with `noServer: true`). */
  webSocket(path: string, wss: WebSocketServer): void {
    this.sockets.set(path, wss);
  }

  /** Hand every request and upgrade whose path starts with `prefix` (e.g. '/socket.io/') to `handler`. */
  delegate(prefix: string, handler: PrefixHandler): void {
    this.prefixes.set(prefix, handler);
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Close every WebSocket with 1001, stop accepting, and give open requests `graceMs`. */
  async close(graceMs = 2000): Promise<void> {
    for (const wss of this.sockets.values()) {
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
    }
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const timer = setTimeout(() => {
      for (const wss of this.sockets.values()) for (const ws of wss.clients) ws.terminate();
      this.server.closeAllConnections();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  private delegated(url: URL): PrefixHandler | undefined {
    for (const [prefix, handler] of this.prefixes) if (url.pathname.startsWith(prefix)) return handler;
    return undefined;
  }

  private request(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const delegate = this.delegated(url);
    if (delegate) return delegate.request(req, res);
    const handler = this.routes.get(`${req.method} ${url.pathname}`);
    if (handler) return handler(req, res, url);
    if (this.sockets.has(url.pathname)) return sendJson(res, 426, { error: `${url.pathname} is a WebSocket endpoint: upgrade required` });
    sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const delegate = this.delegated(url);
    if (delegate) return delegate.upgrade(req, socket, head);
    const wss = this.sockets.get(url.pathname);
    if (!wss) {
      const body = `no WebSocket endpoint at ${url.pathname}\n`;
      socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  }
}

/** Reads a JSON request body of at most `limit` bytes; throws an HttpError (400/413) naming the problem. */
export async function readJson(req: IncomingMessage, limit = 64 * 1024): Promise<unknown> {
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
  constructor(readonly status: number, message: string) {
    super(message);
  }
}
