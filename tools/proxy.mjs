// @ts-check
// A real reverse proxy in front of the servers, one of two behind the same interface:
//   - caddy: Caddy v2 (github.com/caddyserver/caddy/v2, pinned in tools/go/caddy/go.mod, built once
//     into the cache), so the two commands of a fresh machine suffice;
//   - nginx: the system's nginx, an optional extra (Debian/Ubuntu: `apt-get install -y nginx`),
//     found as $NGINX_BIN or `nginx` on PATH.
// For either the harness writes the config into a temp folder, for loopback: one HTTP listener
// (WebSocket upgrades, SSE, Socket.IO, the gRPC-over-WebSocket bridge) and one for gRPC, spoken
// as HTTP/2 cleartext (h2c) on both sides.
//
// Settings streaming needs, and what Caddy does with them:
//   - WebSocket (and Socket.IO over it): Caddy's reverse_proxy passes Upgrade requests through
//     and then copies both directions as they come; nothing to configure.
//   - SSE: Caddy flushes a text/event-stream response after every write (its flush_interval is
//     forced to "immediately" for that content type); we set flush_interval -1 anyway so any
//     streamed response is flushed. What must NOT be set is response buffering
//     (`response_buffers`): then Caddy reads that many bytes of the stream before it sends
//     anything. `buffering: N` here writes exactly that misconfiguration, for the test that
//     shows what it does to SSE latency.
//   - gRPC: the gRPC site accepts h2c and forwards with the h2c transport, so streams of every
//     call kind pass frame by frame.
// And what nginx needs said (nginxConfig below):
//   - WebSocket: nginx speaks HTTP/1.0 to upstreams and drops hop-by-hop headers unless told:
//     proxy_http_version 1.1 and Upgrade/Connection passed on; an upgraded connection is then
//     copied both ways, closed after proxy_read_timeout without traffic (default 60 s), so 1 h.
//   - SSE: proxy_buffering off passes each read on at once. It is on by default, yet does not
//     delay our stream on its own: the server sends `X-Accel-Buffering: no`, which turns it off
//     per response, and over HTTP/1.1 nginx forwards every complete chunk even while buffering.
//     `buffering: N` writes the misconfiguration that does hold SSE back: a bare proxy_pass
//     (HTTP/1.0 upstream, so an unchunked stream) with buffers of N bytes and that header ignored
//     (`bufferingHint: true` obeys it).
//   - gRPC: `listen … http2` accepts h2c, grpc_pass grpc:// forwards over h2c, unbuffered by
//     nature; grpc_read_timeout/grpc_send_timeout (default 60 s) would cut a quiet stream, so 1 h,
//     and a stream's body is unbounded (client_max_body_size 0): the servers bound each message.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startDaemon, treeCpuMs } from './daemon.mjs';
import { goTool } from './k6.mjs';

export const CADDY_PKG = 'github.com/caddyserver/caddy/v2/cmd/caddy';
export const CADDY_MODULE = 'tools/go/caddy';
export const PROXIES = ['caddy', 'nginx'];
/** The Debian/Ubuntu package that provides nginx (with the proxy, gRPC and HTTP/2 modules). */
export const NGINX_APT = 'nginx';

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
 * nginx.conf for the two listeners; every path it writes (pid, temp files) is under `dir`, its
 * errors go to stderr, nothing is logged per request.
 * @param {{ httpListen: string, grpcListen: string, httpUpstream: string, grpcUpstream: string, dir: string,
 *           buffering?: number, bufferingHint?: boolean, user?: string }} o
 *   buffering: proxy_buffering on with buffers of this many bytes (the misconfiguration); 0 = off.
 *   bufferingHint: with buffering, let a response's `X-Accel-Buffering: no` (our SSE server sends it)
 *     turn buffering off for that response, as nginx does by default; false ignores the header.
 *   user: the `user` line, needed only when nginx starts as root (its workers would run as nobody).
 */
export function nginxConfig({
  httpListen,
  grpcListen,
  httpUpstream,
  grpcUpstream,
  dir,
  buffering = 0,
  bufferingHint = false,
  user,
}) {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
    (t) => `  ${t}_temp_path ${join(dir, t === 'client_body' ? 'body' : t)};`,
  );
  // What streaming needs (see the top of this file), or, with `buffering`, a bare `proxy_pass`
  // location at nginx's defaults: HTTP/1.0 to the upstream, so the SSE response comes without
  // chunked framing and nginx passes it on only as its buffers fill (over HTTP/1.1 nginx forwards
  // every complete chunk even while buffering).
  const location = buffering
    ? [
        'proxy_pass http://rtbench_http;',
        'proxy_set_header Host $http_host;',
        'proxy_read_timeout 3600s;',
        'proxy_buffering on;',
        `proxy_buffer_size ${buffering};`,
        `proxy_buffers 8 ${buffering};`,
        ...(bufferingHint ? [] : ['proxy_ignore_headers X-Accel-Buffering;']),
      ]
    : [
        'proxy_pass http://rtbench_http;',
        'proxy_http_version 1.1;',
        'proxy_set_header Host $http_host;',
        'proxy_set_header Upgrade $http_upgrade;',
        'proxy_set_header Connection $connection_upgrade;',
        'proxy_read_timeout 3600s;',
        'proxy_send_timeout 3600s;',
        'proxy_request_buffering off;',
        'proxy_buffering off;',
      ];
  return `# written by rtbench (tools/proxy.mjs) for one run; nothing here outlives it
${user ? `user ${user};\n` : ''}worker_processes auto;
pid ${join(dir, 'nginx.pid')};
lock_file ${join(dir, 'nginx.lock')};
error_log stderr warn;
events {
  worker_connections 8192;
}
http {
  access_log off;
${temp.join('\n')}
  # HTTP/1.1 keep-alive and HTTP/2 connections: idle for up to 1 h, any number of requests
  keepalive_timeout 3600s;
  keepalive_requests 1000000;
  # "Connection: upgrade" when the client asks to upgrade, else nothing (keep-alive upstream)
  map $http_upgrade $connection_upgrade {
    default upgrade;
    '' '';
  }
  upstream rtbench_http {
    server ${httpUpstream};
    keepalive 64;
  }
  upstream rtbench_grpc {
    server ${grpcUpstream};
    keepalive 64;
  }
  server {
    listen ${httpListen};
    client_max_body_size 16m;
    location / {
      ${location.join('\n      ')}
    }
  }
  server {
    listen ${grpcListen} http2;
    client_max_body_size 0;
    location / {
      grpc_pass grpc://rtbench_grpc;
      grpc_read_timeout 3600s;
      grpc_send_timeout 3600s;
    }
  }
}
`;
}

/**
 * The nginx to run: $NGINX_BIN, else `nginx` on PATH; a ProxyError naming what to install otherwise.
 * @returns {string}
 */
export function nginxBin() {
  const fromEnv = process.env.NGINX_BIN;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new ProxyError(`NGINX_BIN=${fromEnv}: no such file.`);
    return fromEnv;
  }
  const found = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  throw new ProxyError(
    `nginx not found: not on PATH and NGINX_BIN is not set. It is an optional extra: install it ` +
      `(Debian/Ubuntu: \`apt-get install -y ${NGINX_APT}\`; it lands in /usr/sbin, which must then be on PATH) ` +
      `or set NGINX_BIN to an nginx built with the proxy, gRPC and HTTP/2 modules.`,
  );
}

/**
 * @typedef {object} Proxy
 * @property {string} name
 * @property {string} httpUrl    http://127.0.0.1:port of the HTTP listener
 * @property {string} grpcAddr   127.0.0.1:port of the gRPC listener
 * @property {string} configPath the config the harness wrote
 * @property {() => number | null} cpuMs  the proxy's CPU time so far (user + system, every process of it), ms
 * @property {() => Promise<void>} stop
 */

/**
 * @typedef {object} ProxyKind  what differs between the proxies: binary, config, command line
 * @property {(log: (s: string) => void) => Promise<string> | string} bin
 * @property {string} file  the config's file name
 * @property {(o: { httpListen: string, grpcListen: string, httpUpstream: string, grpcUpstream: string, buffering: number,
 *             bufferingHint: boolean, dir: string }) => string} config
 * @property {(dir: string, configPath: string) => string[]} args
 * @property {(dir: string) => NodeJS.ProcessEnv} [env]
 */

/** @type {Record<string, ProxyKind>} */
const KINDS = {
  caddy: {
    bin: (log) => goTool(CADDY_PKG, { dir: CADDY_MODULE, log }),
    file: 'caddy.json',
    config: (o) => JSON.stringify(caddyConfig(o), null, 2),
    args: (_dir, configPath) => ['run', '--config', configPath],
    // HOME/XDG dirs in the temp folder: Caddy keeps its data (certificates, autosave) there.
    env: (dir) => ({ ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir }),
  },
  nginx: {
    bin: () => nginxBin(),
    file: 'nginx.conf',
    config: (o) => nginxConfig({ ...o, user: process.getuid?.() === 0 ? 'root' : undefined }),
    // -p: the prefix relative paths resolve against; -e: errors to stderr before the config is read
    args: (dir, configPath) => ['-p', dir, '-c', configPath, '-e', 'stderr', '-g', 'daemon off;'],
  },
};

/**
 * Starts the proxy `name` in front of the given upstreams on free loopback ports (or the given
 * ones), having built (Caddy) or found (nginx) it; resolves once it answers /healthz through.
 * @param {string} name
 * @param {{ httpUpstream: string, grpcUpstream: string, buffering?: number, bufferingHint?: boolean, httpPort?: number, grpcPort?: number,
 *           log?: (s: string) => void, timeoutMs?: number }} o
 *   buffering: the misconfiguration the SSE test shows (Caddy: response_buffers; nginx: proxy_buffering on, buffers
 *   of this size, X-Accel-Buffering ignored unless bufferingHint); httpPort/grpcPort: 0 = a free one
 * @returns {Promise<Proxy>}
 */
export async function startProxy(
  name,
  {
    httpUpstream,
    grpcUpstream,
    buffering = 0,
    bufferingHint = false,
    httpPort = 0,
    grpcPort = 0,
    log = console.error,
    timeoutMs = 15_000,
  },
) {
  const kind = KINDS[name];
  if (!kind) throw new ProxyError(`unknown proxy '${name}' (known: ${PROXIES.join(', ')})`);
  const bin = await kind.bin(log);
  const httpListen = `127.0.0.1:${httpPort || (await freePort())}`;
  const grpcListen = `127.0.0.1:${grpcPort || (await freePort())}`;
  const dir = mkdtempSync(join(tmpdir(), `rtbench-${name}-`));
  const configPath = join(dir, kind.file);
  writeFileSync(
    configPath,
    kind.config({ httpListen, grpcListen, httpUpstream, grpcUpstream, buffering, bufferingHint, dir }),
  );
  const daemon = await startDaemon(name, bin, kind.args(dir, configPath), {
    env: kind.env?.(dir),
    timeoutMs,
    ErrorClass: ProxyError,
    notReady: `on ${httpListen} (config ${configPath})`,
    ready: async () => (await fetch(`http://${httpListen}/healthz`)).ok,
  }).catch((err) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  return {
    name,
    httpUrl: `http://${httpListen}`,
    grpcAddr: grpcListen,
    configPath,
    cpuMs: () => treeCpuMs(daemon.pids()),
    stop: async () => {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
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
