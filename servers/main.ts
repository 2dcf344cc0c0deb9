// `npm run servers`: every rtbench server in one process (or a subset with --only), on
// loopback by default. Prints each address, then `ready`; stops gracefully on SIGTERM/SIGINT.
import { parseServerConfig, usage, ConfigError } from './lib/config.ts';
import { HttpHost, sendJson } from './lib/http.ts';
import { stopOnSignals } from './lib/lifecycle.ts';
import { snapshot } from './lib/stats.ts';
import { mountWebSockets } from './ws.ts';
import { startGrpc } from './grpc.ts';
import { mountSocketIo, SOCKETIO_PATH } from './socketio.ts';
import { DEFAULT_FEED_OPTIONS, mountFeed } from './feed.ts';
import { localTarget, mountBridge } from './bridge.ts';
import { mountPage } from './page.ts';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return;
  }
  let cfg;
  try {
    cfg = parseServerConfig(argv, process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`rtbench servers: ${err.message}`);
    process.exit(2);
  }

  const stops: Array<() => Promise<void>> = [];
  const http = new HttpHost();
  http.route('GET', '/healthz', (_req, res) => sendJson(res, 200, { ok: true }));
  http.route('GET', '/stats', (_req, res) => sendJson(res, 200, snapshot()));
  const wsPaths = cfg.only.has('ws') ? mountWebSockets(http, cfg) : [];
  const feed = ['ws', 'sse', 'socketio'].some((p) => cfg.only.has(p)) ? mountFeed(http, { ...DEFAULT_FEED_OPTIONS, sse: cfg.only.has('sse'), ws: cfg.only.has('ws') }) : null;
  const socketIo = cfg.only.has('socketio') ? mountSocketIo(http, { ...cfg, feed: feed?.feed }) : null;
  const page = mountPage(http);
  const httpAddr = await http.listen(cfg.host, cfg.httpPort);
  stops.push(async () => {
    feed?.stop(); // ends the long-lived SSE responses so the HTTP server can close at once
    await http.close();
  });
  const hostPort = (port: number) => `${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;
  console.log(`http  http://${hostPort(httpAddr.port)}  (/stats, /healthz)`);
  for (const path of wsPaths) console.log(`ws    ws://${hostPort(httpAddr.port)}${path}`);
  for (const path of feed?.paths ?? []) {
    console.log(path === '/sse' ? `sse   http://${hostPort(httpAddr.port)}/sse` : `ws    ws://${hostPort(httpAddr.port)}${path}`);
  }
  if (page) console.log(`page  http://${hostPort(httpAddr.port)}${page}  (the browser test page)`);
  if (socketIo) {
    stops.push(socketIo.stop);
    console.log(`socketio  http://${hostPort(httpAddr.port)}${SOCKETIO_PATH}`);
  }

  let grpcTarget = cfg.bridgeTarget;
  if (cfg.only.has('grpc')) {
    const grpc = await startGrpc({ host: cfg.host, port: cfg.grpcPort, maxMessageBytes: cfg.maxMessageBytes });
    stops.push(grpc.stop);
    console.log(`grpc  ${hostPort(grpc.port)}  (reflection on)`);
    grpcTarget ||= localTarget(cfg.host, grpc.port);
  }
  if (cfg.only.has('grpc-ws')) {
    const bridge = mountBridge(http, { maxMessageBytes: cfg.maxMessageBytes, target: grpcTarget });
    stops.push(bridge.stop);
    console.log(`grpc-ws  ws://${hostPort(httpAddr.port)}${bridge.path}  → grpc ${grpcTarget}`);
  }
  console.log(`max message size ${cfg.maxMessageBytes} bytes`);
  console.log('ready');
  stopOnSignals(async () => {
    await Promise.all(stops.map((stop) => stop()));
  });
}

main().catch((err: unknown) => {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e?.code === 'EADDRINUSE') {
    console.error(`rtbench servers: ${e.address}:${e.port} is already in use (another rtbench? choose ports with --http-port / --grpc-port, 0 = any free port)`);
  } else {
    console.error(`rtbench servers: ${e?.stack ?? String(err)}`);
  }
  process.exit(1);
});
