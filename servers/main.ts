// `npm run servers`: every rtbench server in one process (or a subset with --only), on
// loopback by default. Prints each address, then `ready`; stops gracefully on SIGTERM/SIGINT.
import { parseServerConfig, usage, ConfigError } from './lib/config.ts';
import { HttpHost, sendJson } from './lib/http.ts';
import { stopOnSignals } from './lib/lifecycle.ts';
import { snapshot } from './lib/stats.ts';
import { mountWebSockets } from './ws.ts';
import { startGrpc } from './grpc.ts';

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
  const httpAddr = await http.listen(cfg.host, cfg.httpPort);
  stops.push(() => http.close());
  const hostPort = (port: number) => `${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;
  console.log(`http  http://${hostPort(httpAddr.port)}  (/stats, /healthz)`);
  for (const path of wsPaths) console.log(`ws    ws://${hostPort(httpAddr.port)}${path}`);

  if (cfg.only.has('grpc')) {
    const grpc = await startGrpc({ host: cfg.host, port: cfg.grpcPort, maxMessageBytes: cfg.maxMessageBytes });
    stops.push(grpc.stop);
    console.log(`grpc  ${hostPort(grpc.port)}  (reflection on)`);
  }
  console.log(`max message size ${cfg.maxMessageBytes} bytes`);
  console.log('ready');
  stopOnSignals(async () => {
    await Promise.all(stops.map((stop) => stop()));
  });
}

main().catch((err: unknown) => {
  console.error(`rtbench servers: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(1);
});
