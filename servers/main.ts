// `npm run servers`: every rtbench server in one process (or a subset with --only), on
// loopback by default. Prints each address, then `ready`; stops gracefully on SIGTERM/SIGINT.
// Every bound (see --help) also shows in /stats under `limits`.
import { parseServerConfig, usage, ConfigError } from './lib/config.ts';
import { HttpHost, sendJson } from './lib/http.ts';
import { stopOnSignals } from './lib/lifecycle.ts';
import { setLimits, snapshot } from './lib/stats.ts';
import { isLoopback, tokenMatches } from './lib/auth.ts';
import { mountWebSockets } from './ws.ts';
import { startGrpc } from './grpc.ts';
import { dropOrderStreams } from './grpc-orders.ts';
import { mountSocketIo, SOCKETIO_PATH } from './socketio.ts';
import { DEFAULT_FEED_OPTIONS, mountFeed } from './feed.ts';
import { localTarget, mountBridge } from './bridge.ts';
import { mountPage } from './page.ts';

async function main(): Promise<void> {
  let cfg;
  try {
    cfg = parseServerConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`rtbench servers: ${err.message}`);
    process.exit(2);
  }
  if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
    console.log(usage());
    return;
  }
  const { limits } = cfg;
  const access = { token: cfg.token, allowOrigins: cfg.allowOrigins };
  const matches = cfg.token === '' ? undefined : (presented: string | null) => tokenMatches(access, presented);
  setLimits({ ...limits, tokenRequired: cfg.token !== '' });
  if (!isLoopback(cfg.host) && cfg.token === '') {
    console.error(
      `\n*** WARNING: listening on ${cfg.host} (reachable from other machines) WITHOUT a token: anyone who can reach it can`,
    );
    console.error(
      '*** drive the control routes and load this machine. Set --token (or RTBENCH_TOKEN) on shared networks.\n',
    );
  }

  const stops: Array<() => Promise<void>> = [];
  const http = new HttpHost({ access, limits });
  http.route('GET', '/healthz', (_req, res) => sendJson(res, 200, { ok: true }), { open: true });
  // ?gc=true: collect garbage first, only in a server started with node --expose-gc (tests)
  http.route('GET', '/stats', (_req, res, url) =>
    sendJson(res, 200, snapshot({ collect: url.searchParams.get('gc') === 'true' })),
  );
  const wsPaths = cfg.only.has('ws') ? mountWebSockets(http, limits) : [];
  const feed =
    cfg.only.has('ws') || cfg.only.has('sse') || cfg.only.has('socketio')
      ? mountFeed(http, {
          ...DEFAULT_FEED_OPTIONS,
          sse: cfg.only.has('sse'),
          ws: cfg.only.has('ws'),
          maxBufferedBytes: limits.maxBufferedBytes,
          // a heartbeat at least twice per idle limit, or an SSE stream with nothing to say is cut
          heartbeatMs: Math.max(1000, Math.min(DEFAULT_FEED_OPTIONS.heartbeatMs, Math.floor(limits.idleMs / 2))),
          handshakeMs: limits.handshakeMs,
          idleMs: limits.idleMs,
          limits: {
            ...DEFAULT_FEED_OPTIONS.limits,
            maxChannels: limits.maxChannels,
            channelBytesPerSec: limits.channelBytesPerSec,
            feedBytesPerSec: limits.feedBytesPerSec,
            replayBytes: limits.replayBytes,
            resumeGraceMs: limits.resumeGraceMs,
            idleMs: limits.channelIdleMs,
          },
        })
      : null;
  const socketIo = cfg.only.has('socketio')
    ? mountSocketIo(http, { ...limits, tokenMatches: matches, feed: feed?.feed })
    : null;
  const page = mountPage(http);
  // the order streams' reconnect storm (npm run capacity -- --storm): every SubscribeOrders call cut at once
  if (cfg.only.has('grpc'))
    http.route('POST', '/grpc/drop', (_req, res) => sendJson(res, 200, { dropped: dropOrderStreams() }), {
      control: true,
    });
  const httpAddr = await http.listen(cfg.host, cfg.httpPort);
  stops.push(async () => {
    feed?.stop(); // ends the long-lived SSE responses and /feed sockets cleanly (1001)
    await http.close();
  });
  const hostPort = (port: number) => `${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;
  console.log(`http  http://${hostPort(httpAddr.port)}  (/stats, /healthz)`);
  for (const path of wsPaths) console.log(`ws    ws://${hostPort(httpAddr.port)}${path}`);
  for (const path of feed?.paths ?? []) {
    console.log(
      path === '/sse' ? `sse   http://${hostPort(httpAddr.port)}/sse` : `ws    ws://${hostPort(httpAddr.port)}${path}`,
    );
  }
  if (page) console.log(`page  http://${hostPort(httpAddr.port)}${page}  (the browser test page)`);
  if (socketIo) {
    stops.push(socketIo.stop);
    console.log(`socketio  http://${hostPort(httpAddr.port)}${SOCKETIO_PATH}`);
  }

  let grpcTarget = cfg.bridgeTarget;
  if (cfg.only.has('grpc')) {
    const grpc = await startGrpc({
      host: cfg.host,
      port: cfg.grpcPort,
      maxMessageBytes: limits.maxMessageBytes,
      maxStreams: limits.grpcMaxStreams,
      idleMs: limits.idleMs,
      handshakeMs: limits.handshakeMs,
      tokenMatches: matches,
    });
    stops.push(grpc.stop);
    console.log(`grpc  ${hostPort(grpc.port)}  (reflection on)`);
    grpcTarget ||= localTarget(cfg.host, grpc.port);
  }
  if (cfg.only.has('grpc-ws')) {
    const bridge = mountBridge(http, {
      maxMessageBytes: limits.maxMessageBytes,
      target: grpcTarget,
      streamsPerConnection: limits.grpcMaxStreams,
      maxBufferedBytes: limits.maxBufferedBytes,
      handshakeMs: limits.handshakeMs,
      idleMs: limits.idleMs,
      token: cfg.token,
    });
    stops.push(bridge.stop);
    console.log(`grpc-ws  ws://${hostPort(httpAddr.port)}${bridge.path}  → grpc ${grpcTarget}`);
  }
  console.log(`max message size ${limits.maxMessageBytes} bytes${cfg.token ? '; token required' : ''}`);
  console.log('ready');
  stopOnSignals(async () => {
    await Promise.all(stops.map((stop) => stop()));
  });
}

main().catch((err: unknown) => {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e?.code === 'EADDRINUSE') {
    console.error(
      `rtbench servers: ${e.address}:${e.port} is already in use (another rtbench? choose ports with --http-port / --grpc-port, 0 = any free port)`,
    );
  } else {
    console.error(`rtbench servers: ${e?.stack ?? String(err)}`);
  }
  process.exit(1);
});
