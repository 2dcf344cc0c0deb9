#!/usr/bin/env node
// @ts-check
// `npm run servers -- [--network SHAPE] [server options]`: the rtbench servers, optionally
// behind a network shape. Without --network (or with --network loopback) this is exactly
// dist/servers/main.js. With a shape, the servers listen on free loopback ports and toxiproxy
// listens on the usual ones (--http-port / --grpc-port, default 8080 / 50051), so any
// `k6 run dist/<name>.js` with default addresses goes through the shape.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { dist } from './paths.mjs';
import { NetworkError, describeShape, knownShapes, resolveShape, startNetwork, startToxiproxy } from './network.mjs';

const HELP = `usage: npm run servers -- [--network SHAPE] [--toxiproxy-port N] [server options]

  --network SHAPE      put the servers behind this network shape (toxiproxy); default loopback (none)
  --toxiproxy-port N   toxiproxy's HTTP API port with a shape (default 8474)
  server options       as \`node dist/servers/main.js --help\` lists (--http-port, --grpc-port, --only, …);
                       with a shape the ports are where the shaped proxies listen

Shapes (add your own under "networks" in rtbench.config.json):`;

async function main() {
  const argv = process.argv.slice(2);
  const rest = [];
  let shapeName = 'loopback';
  let apiPort = 8474;
  /** @type {Record<string, string>} */
  const ports = { '--http-port': process.env.HTTP_PORT ?? '8080', '--grpc-port': process.env.GRPC_PORT ?? '50051' };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=')
      ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)]
      : [argv[i], undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new NetworkError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--help' || flag === '-h') {
      console.log(HELP);
      for (const [name, shape] of Object.entries(knownShapes())) console.log(`  ${describeShape(name, shape)}`);
      console.log('\nServer options:');
      rest.push('--help');
      break;
    } else if (flag === '--network') shapeName = value();
    else if (flag === '--toxiproxy-port') {
      const raw = value();
      apiPort = Number(raw);
      if (!/^\d+$/.test(raw) || apiPort < 1 || apiPort > 65535)
        throw new NetworkError(`--toxiproxy-port: '${raw}' is not a port number (1-65535)`);
    } else if (flag in ports) {
      ports[flag] = value();
    } else rest.push(argv[i]);
  }
  const shape = resolveShape(shapeName);
  const main = join(dist, 'servers', 'main.js');
  if (shape.direct || rest.includes('--help')) {
    const portArgs = Object.entries(ports).flat();
    const child = spawn(process.execPath, ['--enable-source-maps', main, ...portArgs, ...rest], { stdio: 'inherit' });
    for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(sig, () => child.kill(sig));
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
    return;
  }

  const { startServers } = await import('./harness.mjs');
  // The servers on free ports (startServers asks for them), the proxies on the asked-for ones.
  const servers = await startServers(rest);
  /** @type {Array<() => Promise<unknown>>} */
  const stops = [() => servers.stop()];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  try {
    const toxiproxy = await startToxiproxy({ apiPort });
    stops.push(() => toxiproxy.stop());
    const routes = [
      { name: 'http', listen: `127.0.0.1:${ports['--http-port']}`, upstream: new URL(servers.httpUrl).host },
    ];
    if (servers.grpcAddr)
      routes.push({ name: 'grpc', listen: `127.0.0.1:${ports['--grpc-port']}`, upstream: servers.grpcAddr });
    const network = await startNetwork(shapeName, shape, routes, { toxiproxy });
    console.log(`network ${describeShape(shapeName, shape)}`);
    for (const r of routes) console.log(`${r.name.padEnd(5)} ${network.listen[r.name]}  → server ${r.upstream}`);
    console.log(`toxiproxy API ${toxiproxy.apiUrl}`);
    console.log(
      `k6 runs with default addresses go through it; tag them: k6 run --tag network=${shapeName} -e NETWORK=${shapeName} dist/<name>.js`,
    );
    console.log('ready');
  } catch (err) {
    await stopAll();
    throw err;
  }
  let stopping = false;
  for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
    process.on(sig, () => {
      if (stopping) process.exit(1);
      stopping = true;
      stopAll().then(() => process.exit(0));
    });
  }
  servers.proc.on('exit', (code) => {
    if (!stopping) {
      console.error(`servers exited with ${code}`);
      stopAll().then(() => process.exit(1));
    }
  });
}

main().catch((err) => {
  console.error(`rtbench servers: ${err instanceof NetworkError ? err.message : (err?.stack ?? err)}`);
  process.exit(err instanceof NetworkError ? 2 : 1);
});
