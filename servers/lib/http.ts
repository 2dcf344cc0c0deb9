// One node:http server hosts every HTTP-based endpoint: WebSocket paths (routed on upgrade),
// plain routes such as /stats and /healthz. Unknown paths get a 404 that names them.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { WebSocketServer } from 'ws';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export class HttpHost {
  readonly server: Server;
  private readonly routes = new Map<string, RouteHandler>();
  private readonly sockets = new Map<string, WebSocketServer>();

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

  private request(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const handler = this.routes.get(`${req.method} ${url.pathname}`);
    if (handler) return handler(req, res, url);
    if (this.sockets.has(url.pathname)) return sendJson(res, 426, { error: `${url.pathname} is a WebSocket endpoint: upgrade required` });
    sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const wss = this.sockets.get(url.pathname);
    if (!wss) {
      const body = `no WebSocket endpoint at ${url.pathname}\n`;
      socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  }
}
