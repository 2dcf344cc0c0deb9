#!/usr/bin/env node
// @ts-check
// `npm run servers -- [--network SHAPE] [--proxy NAME] [server options]`: the rtbench servers,
// optionally behind a network shape and/or a reverse proxy. Without either this is exactly
// dist/servers/main.js. With one, the servers listen on free loopback ports and what is in front
// listens on the usual ones (--http-port / --grpc-port, default 8080 / 50051), so any
// `k6 run dist/<name>.js` with default addresses goes through it: k6 → [toxiproxy] → [proxy] → servers.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { dist } from './paths.mjs';
import { checkConditions } from './conditions.mjs';
import { NetworkError, describeShape, knownShapes, startNetwork, startToxiproxy } from './network.mjs';
import { ProxyError, startProxy } from './proxy.mjs';

const HELP = `usage: npm run servers -- [--network SHAPE] [--proxy NAME] [--toxiproxy-port N] [server options]

  --network SHAPE      put the servers behind this network shape (toxiproxy); default loopback (none)
  --proxy NAME         put the servers behind this reverse proxy: caddy (built from the Go module
                       proxy) or nginx (an optional extra: the system package nginx); default none
  --toxiproxy-port N   toxiproxy's HTTP API port with a shape (default 8474)
  server options       as \`node dist/servers/main.js --help\` lists (--http-port, --grpc-port, --only, …);
                       with a shape the ports are where the shaped proxies listen

Shapes (add your own under "networks" in rtbench.config.json):`;

async function main() {
  const argv = process.argv.slice(2);
  const rest = [];
  let shapeName = 'loopback';
  /** @type {string | undefined} */
  let proxyName;
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
    else if (flag === '--proxy') proxyName = value();
    else if (flag === '--toxiproxy-port') {
      const raw = value();
      apiPort = Number(raw);
      if (!/^\d+$/.test(raw) || apiPort < 1 || apiPort > 65535)
        throw new NetworkError(`--toxiproxy-port: '${raw}' is not a port number (1-65535)`);
    } else if (flag in ports) {
      ports[flag] = value();
    } else rest.push(argv[i]);
  }
  const conditions = checkConditions({ network: shapeName, proxy: proxyName });
  const shape = knownShapes()[shapeName];
  const main = join(dist, 'servers', 'main.js');
  if ((!conditions.network && !conditions.proxy) || rest.includes('--help')) {
    const portArgs = Object.entries(ports).flat();
    const child = spawn(process.execPath, ['--enable-source-maps', main, ...portArgs, ...rest], { stdio: 'inherit' });
    for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(sig, () => child.kill(sig));
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
    return;
  }

  const { startServers } = await import('./harness.mjs');
  // The servers on free ports (startServers asks for them), what is in front on the asked-for ones.
  const servers = await startServers(rest);
  /** @type {Array<() => Promise<unknown>>} */
  const stops = [() => servers.stop()];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  };
  try {
    // what k6 reaches: the servers, or the proxy in front of them
    let front = { http: new URL(servers.httpUrl).host, grpc: servers.grpcAddr };
    if (conditions.proxy) {
      if (!servers.grpcAddr) throw new ProxyError(`--proxy: the proxy needs the gRPC server (it is not in --only)`);
      const direct = !conditions.network; // the proxy on the usual ports, or toxiproxy there in front of it
      const proxy = await startProxy(conditions.proxy, {
        httpUpstream: front.http,
        grpcUpstream: front.grpc,
        httpPort: direct ? Number(ports['--http-port']) : 0,
        grpcPort: direct ? Number(ports['--grpc-port']) : 0,
      });
      stops.push(() => proxy.stop());
      console.log(`proxy ${proxy.name} (config ${proxy.configPath})`);
      console.log(`http  ${new URL(proxy.httpUrl).host}  → server ${front.http}`);
      console.log(`grpc  ${proxy.grpcAddr}  → server ${front.grpc}`);
      front = { http: new URL(proxy.httpUrl).host, grpc: proxy.grpcAddr };
    }
    const tags = conditions.proxy ? [`--tag proxy=${conditions.proxy} -e PROXY=${conditions.proxy}`] : [];
    if (conditions.network) {
      const toxiproxy = await startToxiproxy({ apiPort });
      stops.push(() => toxiproxy.stop());
      const routes = [{ name: 'http', listen: `127.0.0.1:${ports['--http-port']}`, upstream: front.http }];
      if (front.grpc) routes.push({ name: 'grpc', listen: `127.0.0.1:${ports['--grpc-port']}`, upstream: front.grpc });
      const network = await startNetwork(shapeName, shape, routes, { toxiproxy });
      console.log(`network ${describeShape(shapeName, shape)}`);
      const to = conditions.proxy ? `${conditions.proxy} ` : 'server ';
      for (const r of routes) console.log(`${r.name.padEnd(5)} ${network.listen[r.name]}  → ${to}${r.upstream}`);
      console.log(`toxiproxy API ${toxiproxy.apiUrl}`);
      tags.unshift(`--tag network=${shapeName} -e NETWORK=${shapeName}`);
    }
    console.log(`k6 runs with default addresses go through it; tag them: k6 run ${tags.join(' ')} dist/<name>.js`);
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
  const known = err instanceof NetworkError || err instanceof ProxyError;
  console.error(`rtbench servers: ${known ? err.message : (err?.stack ?? err)}`);
  process.exit(err instanceof NetworkError ? 2 : 1);
});
