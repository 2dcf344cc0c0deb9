// @ts-check
// A real reverse proxy in front of the servers: Caddy v2 (github.com/caddyserver/caddy/v2,
// pinned in tools/go/caddy/go.mod, built once into the cache). The harness writes its JSON
// config for loopback: one site for the HTTP port (WebSocket upgrades, SSE, Socket.IO, the
// gRPC-over-WebSocket bridge) and one for gRPC, proxied as HTTP/2 cleartext (h2c) both ways.
//
// Settings streaming needs, and what Caddy does with them:
//   - WebSocket (and Socket.IO over it): Caddy's reverse_proxy passes Upgrade requests through
//     and then copies both directions as they come; nothing to configure.
//   - SSE: Caddy flushes a text/event-stream response after every write (its flush_interval is
//     forced to "immediately" for that content type); we set flush_interval -1 anyway so any
//     streamed response is flushed. What must NOT be set is response buffering
//     (`response_buffers`): then Caddy reads that many bytes of the stream before it sends
//     anything. `buffering: true` here writes exactly that misconfiguration, for the test that
//     shows what it does to SSE latency.
//   - gRPC: the gRPC site accepts h2c and forwards with the h2c transport, so streams of every
//     call kind pass frame by frame.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goTool } from './k6.mjs';
import { freePort } from './network.mjs';

export const CADDY_PKG = 'github.com/caddyserver/caddy/v2/cmd/caddy';
export const CADDY_MODULE = 'tools/go/caddy';
export const PROXIES = ['caddy'];

export class ProxyError extends Error {}

/**
 * Caddy's JSON config for the two sites.
 * @param {{ httpListen: string, grpcListen: string, httpUpstream: string, grpcUpstream: string, buffering?: number }} o
 *   buffering: bytes of every HTTP response Caddy reads before it answers (the misconfiguration); 0 = none
 */
export function caddyConfig({ httpListen, grpcListen, httpUpstream, grpcUpstream, buffering = 0 }) {
  const site = (/** @type {string} */ listen, /** @type {object} */ proxy) => ({
    listen: [listen],
    protocols: ['h1', 'h2c'],
    automatic_https: { disable: true },
    routes: [{ handle: [proxy] }],
  });
  return {
    admin: { disabled: true },
    logging: { logs: { default: { level: 'ERROR' } } },
    apps: {
      http: {
        servers: {
          http: site(httpListen, {
            handler: 'reverse_proxy',
            upstreams: [{ dial: httpUpstream }],
            flush_interval: -1,
            ...(buffering ? { response_buffers: buffering } : {}),
          }),
          grpc: site(grpcListen, {
            handler: 'reverse_proxy',
            upstreams: [{ dial: grpcUpstream }],
            flush_interval: -1,
            transport: { protocol: 'http', versions: ['h2c'] },
          }),
        },
      },
    },
  };
}

/**
 * @typedef {object} Proxy
 * @property {string} name
 * @property {string} httpUrl    http://127.0.0.1:port of the HTTP site
 * @property {string} grpcAddr   127.0.0.1:port of the gRPC site
 * @property {() => number | null} cpuMs  the proxy process's CPU time so far (user + system), ms
 * @property {() => Promise<void>} stop
 */

/**
 * Builds (once) and starts the proxy `name` in front of the given upstreams on free loopback ports.
 * @param {string} name
 * @param {{ httpUpstream: string, grpcUpstream: string, buffering?: number, log?: (s: string) => void, timeoutMs?: number }} o
 * @returns {Promise<Proxy>}
 */
export async function startProxy(
  name,
  { httpUpstream, grpcUpstream, buffering = 0, log = console.error, timeoutMs = 15_000 },
) {
  if (!PROXIES.includes(name)) throw new ProxyError(`unknown proxy '${name}' (known: ${PROXIES.join(', ')})`);
  const bin = await goTool(CADDY_PKG, { dir: CADDY_MODULE, log });
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const httpListen = `127.0.0.1:${httpPort}`;
  const grpcListen = `127.0.0.1:${grpcPort}`;
  const dir = mkdtempSync(join(tmpdir(), 'rtbench-caddy-'));
  const configPath = join(dir, 'caddy.json');
  writeFileSync(
    configPath,
    JSON.stringify(caddyConfig({ httpListen, grpcListen, httpUpstream, grpcUpstream, buffering }), null, 2),
  );
  // HOME/XDG dirs in the temp folder: Caddy keeps its data (certificates, autosave) there.
  const env = { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir };
  const proc = spawn(bin, ['run', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  proc.stdout.on('data', (d) => (out = (out + d).slice(-4000)));
  proc.stderr.on('data', (d) => (out = (out + d).slice(-4000)));
  /** @type {Promise<void>} */
  const exited = new Promise((resolve) => proc.on('exit', () => resolve()));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new ProxyError(`caddy exited with ${proc.exitCode} before it answered:\n${out}`);
    try {
      const res = await fetch(`http://${httpListen}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) {
      await stop();
      throw new ProxyError(`caddy did not answer on ${httpListen} within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    name,
    httpUrl: `http://${httpListen}`,
    grpcAddr: grpcListen,
    cpuMs: () => processCpuMs(proc.pid),
    stop,
  };
}

/**
 * CPU time (user + system) of a process so far, ms, from /proc (Linux); null elsewhere.
 * @param {number | undefined} pid
 */
export function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], fields[12] = utime, stime (fields 14 and 15 of stat(5)), in clock ticks (100/s on Linux)
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/**
 * The servers seen through a proxy: every protocol's address goes through it, /stats stays direct.
 * @param {import('./harness.mjs').Servers} servers @param {Proxy} proxy
 * @returns {import('./harness.mjs').Servers}
 */
export function behindProxy(servers, proxy) {
  const wsUrl = (/** @type {string} */ path) => proxy.httpUrl.replace(/^http/, 'ws') + path;
  return {
    ...servers,
    httpUrl: proxy.httpUrl,
    grpcAddr: proxy.grpcAddr,
    wsUrl,
    env: () => ({
      ...servers.env(),
      WS_URL: wsUrl(''),
      SSE_URL: `${proxy.httpUrl}/sse`,
      SOCKETIO_URL: proxy.httpUrl,
      GRPC_ADDR: proxy.grpcAddr,
      PROXY: proxy.name,
    }),
  };
}
