// @ts-check
// Network shapes and outages between k6 and the servers, through toxiproxy
// (github.com/Shopify/toxiproxy/v2, pinned in tools/go/toxiproxy/go.mod, built once into the cache).
//
// A shape is data, like a load profile: latency, jitter and bandwidth per direction, applied as
// toxiproxy toxics on every TCP proxy in front of the servers ("up" = client → server, "down" =
// server → client). `loopback` means no proxy at all. Custom shapes live in rtbench.config.json
// under "networks" (same fields as below).
//
// What toxiproxy does NOT emulate: it is a TCP proxy that delays and paces the *payload* it
// relays. The TCP handshake between k6 and the proxy happens on loopback at once, so a shape's RTT
// is not paid for SYN/SYN-ACK (a real connect costs one RTT more than we measure); there is no
// packet loss, retransmission, congestion window or slow start, and bandwidth is paced per
// connection and direction (two connections each get the full rate). Figures under a shape are
// therefore a lower bound on what the same workload costs over a real link of that RTT and rate.
//
// Faults (an outage, a reset) use toxiproxy too: `disable` closes the proxy's listener and every
// connection through it until `enable`; `reset_peer` makes every connection end with a TCP RST.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { freePort, startDaemon } from './daemon.mjs';
import { goTool } from './k6.mjs';
import { root } from './paths.mjs';

export { freePort }; // moved to tools/daemon.mjs; still importable from here

export const TOXIPROXY_PKG = 'github.com/Shopify/toxiproxy/v2/cmd/server';
export const TOXIPROXY_MODULE = 'tools/go/toxiproxy';

export class NetworkError extends Error {}

/**
 * @typedef {object} Direction
 * @property {number} latencyMs  added to every chunk of data in this direction
 * @property {number} [jitterMs] plus or minus this much, uniformly, per chunk (order is kept)
 * @property {number} [kbps]     bandwidth, kbit/s (1 kbit = 1000 bits); omitted = unlimited
 */
/**
 * @typedef {object} Shape
 * @property {string} description
 * @property {Direction} [up]     client → server
 * @property {Direction} [down]   server → client
 * @property {boolean} [direct]   true: no proxy at all (loopback)
 */

/**
 * The built-in shapes. The two mobile ones are WebPageTest's connectivity profiles "Mobile LTE"
 * and "Mobile 3G" (www/settings/connectivity.ini.sample in the WebPageTest repository: bwIn/bwOut
 * and an RTT, which we split evenly between the two directions).
 * @type {Record<string, Shape>}
 */
export const SHAPES = {
  loopback: { description: 'no proxy: k6 talks to the servers directly over loopback', direct: true },
  lan: {
    description: 'one data centre: 1 ms RTT, 1 Gbit/s each way',
    up: { latencyMs: 1, kbps: 1_000_000 },
    down: { latencyMs: 0, kbps: 1_000_000 },
  },
  wan: {
    description: 'across a continent: 40 ms RTT (±5 ms jitter each way), 100 Mbit/s each way',
    up: { latencyMs: 20, jitterMs: 5, kbps: 100_000 },
    down: { latencyMs: 20, jitterMs: 5, kbps: 100_000 },
  },
  'mobile-lte': {
    description: "WebPageTest 'Mobile LTE': 70 ms RTT, 12 Mbit/s down, 12 Mbit/s up",
    up: { latencyMs: 35, kbps: 12_000 },
    down: { latencyMs: 35, kbps: 12_000 },
  },
  'mobile-3g': {
    description: "WebPageTest 'Mobile 3G': 300 ms RTT, 1.6 Mbit/s down, 768 kbit/s up",
    up: { latencyMs: 150, kbps: 768 },
    down: { latencyMs: 150, kbps: 1_600 },
  },
};

/** @param {unknown} v @returns {v is Record<string, unknown>} */
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validates one direction of a shape; `where` names it in errors.
 * @param {string} where @param {unknown} raw @returns {Direction}
 */
function parseDirection(where, raw) {
  if (!isObject(raw)) throw new NetworkError(`${where}: expected {"latencyMs": 20, "jitterMs": 5, "kbps": 100000}`);
  /** @type {Direction} */
  const d = { latencyMs: 0 };
  for (const [key, value] of Object.entries(raw)) {
    const max = key === 'kbps' ? 100_000_000 : 60_000;
    if (!['latencyMs', 'jitterMs', 'kbps'].includes(key))
      throw new NetworkError(`${where}: unknown key '${key}' (known: latencyMs, jitterMs, kbps)`);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < (key === 'kbps' ? 8 : 0) || value > max) {
      throw new NetworkError(
        `${where}.${key}: ${JSON.stringify(value)} is not a whole number between ${key === 'kbps' ? 8 : 0} and ${max}`,
      );
    }
    /** @type {any} */ (d)[key] = value;
  }
  if ((d.jitterMs ?? 0) > d.latencyMs)
    throw new NetworkError(`${where}: jitterMs (${d.jitterMs}) may not exceed latencyMs (${d.latencyMs})`);
  return d;
}

/**
 * Validates a shape from a config file.
 * @param {string} where @param {unknown} raw @returns {Shape}
 */
export function parseShape(where, raw) {
  if (!isObject(raw)) throw new NetworkError(`${where}: expected {"description", "up": {…}, "down": {…}}`);
  for (const key of Object.keys(raw)) {
    if (!['description', 'up', 'down'].includes(key))
      throw new NetworkError(`${where}: unknown key '${key}' (known: description, up, down)`);
  }
  if (raw.up === undefined && raw.down === undefined) throw new NetworkError(`${where}: needs "up" and/or "down"`);
  return {
    description: typeof raw.description === 'string' ? raw.description : 'custom shape',
    ...(raw.up !== undefined ? { up: parseDirection(`${where}.up`, raw.up) } : {}),
    ...(raw.down !== undefined ? { down: parseDirection(`${where}.down`, raw.down) } : {}),
  };
}

/**
 * The shapes known here: the built-in ones plus "networks" from rtbench.config.json (the file
 * named by $RTBENCH_CONFIG, else the repo root's), which may not redefine a built-in.
 * @param {string} [configPath] @returns {Record<string, Shape>}
 */
export function knownShapes(configPath = process.env.RTBENCH_CONFIG) {
  const path = configPath
    ? isAbsolute(configPath)
      ? configPath
      : join(process.cwd(), configPath)
    : join(root, 'rtbench.config.json');
  if (!existsSync(path)) {
    if (configPath) throw new NetworkError(`cannot read config file '${configPath}'`);
    return { ...SHAPES };
  }
  let json;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new NetworkError(`${path}: not valid JSON: ${/** @type {Error} */ (err).message}`);
  }
  const networks = isObject(json) ? json.networks : undefined;
  if (networks === undefined) return { ...SHAPES };
  if (!isObject(networks)) throw new NetworkError(`${path}: "networks" must map shape names to {"up", "down"}`);
  /** @type {Record<string, Shape>} */
  const out = { ...SHAPES };
  for (const [name, raw] of Object.entries(networks)) {
    if (!/^[a-z0-9][a-z0-9_-]{0,39}$/.test(name))
      throw new NetworkError(`${path}: networks.${name}: a shape name is lower-case letters, digits, - and _`);
    if (SHAPES[name])
      throw new NetworkError(`${path}: networks.${name}: '${name}' is a built-in shape; pick another name`);
    out[name] = parseShape(`${path}: networks.${name}`, raw);
  }
  return out;
}

/**
 * The shape called `name`, or an error naming it and the known ones.
 * @param {string} name @param {Record<string, Shape>} [shapes] @returns {Shape}
 */
export function resolveShape(name, shapes = knownShapes()) {
  const shape = shapes[name];
  if (!shape)
    throw new NetworkError(
      `unknown network shape '${name}' (known: ${Object.keys(shapes).join(', ')}; add your own under "networks" in rtbench.config.json)`,
    );
  return shape;
}

/**
 * A comma-separated list of shape names, each resolved (so a bad one stops everything up front).
 * @param {string} list @param {Record<string, Shape>} [shapes] @returns {string[]}
 */
export function parseShapeList(list, shapes = knownShapes()) {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0)
    throw new NetworkError(`--network '${list}' names no shape (known: ${Object.keys(shapes).join(', ')})`);
  for (const n of names) resolveShape(n, shapes);
  return names;
}

/** The round-trip time a shape adds, ms (ignoring jitter). @param {Shape} shape */
export function rttMs(shape) {
  return (shape.up?.latencyMs ?? 0) + (shape.down?.latencyMs ?? 0);
}

/**
 * The toxics that make a shape, in toxiproxy's JSON (bandwidth `rate` is KB/s, 1 KB = 1000 bytes).
 * @param {Shape} shape
 */
export function toxicsFor(shape) {
  /** @type {Array<{ name: string, type: string, stream: 'upstream' | 'downstream', toxicity: number, attributes: Record<string, number> }>} */
  const out = [];
  for (const [dir, stream] of /** @type {const} */ ([
    ['up', 'upstream'],
    ['down', 'downstream'],
  ])) {
    const d = shape[dir];
    if (!d) continue;
    if (d.latencyMs > 0 || (d.jitterMs ?? 0) > 0) {
      out.push({
        name: `latency_${dir}`,
        type: 'latency',
        stream,
        toxicity: 1,
        attributes: { latency: d.latencyMs, jitter: d.jitterMs ?? 0 },
      });
    }
    if (d.kbps)
      out.push({
        name: `bandwidth_${dir}`,
        type: 'bandwidth',
        stream,
        toxicity: 1,
        attributes: { rate: Math.max(1, Math.round(d.kbps / 8)) },
      });
  }
  return out;
}

/**
 * @typedef {object} Toxiproxy
 * @property {string} apiUrl   e.g. http://127.0.0.1:8474
 * @property {(method: string, path: string, body?: unknown) => Promise<any>} api
 * @property {() => Promise<void>} stop
 */

/**
 * Builds (once) and starts toxiproxy with its HTTP API on 127.0.0.1:`apiPort` (0 = a free one).
 * @param {{ apiPort?: number, log?: (s: string) => void, timeoutMs?: number }} [opts]
 * @returns {Promise<Toxiproxy>}
 */
export async function startToxiproxy({ apiPort = 0, log = console.error, timeoutMs = 10_000 } = {}) {
  const bin = await goTool(TOXIPROXY_PKG, { dir: TOXIPROXY_MODULE, log });
  const port = apiPort || (await freePort());
  const apiUrl = `http://127.0.0.1:${port}`;
  /** @param {string} method @param {string} path @param {unknown} [body] */
  const api = async (method, path, body) => {
    const res = await fetch(apiUrl + path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new NetworkError(`toxiproxy ${method} ${path}: HTTP ${res.status} ${text.trim()}`);
    return text ? JSON.parse(text) : null;
  };
  const { stop } = await startDaemon('toxiproxy', bin, ['-host', '127.0.0.1', '-port', String(port)], {
    ready: async () => (await api('GET', '/version'), true),
    timeoutMs,
    killAfterMs: 3000,
    pollMs: 50,
    ErrorClass: NetworkError,
    notReady: `on ${apiUrl} (port ${port} in use?)`,
  });
  return { apiUrl, api, stop };
}

/**
 * @typedef {object} Route
 * @property {string} name      e.g. 'http', 'grpc'
 * @property {string} listen    host:port the proxy listens on (port 0 = a free one)
 * @property {string} upstream  host:port of the server behind it
 */

/**
 * @typedef {object} Network
 * @property {string} name                      the shape's name
 * @property {Shape} shape
 * @property {Toxiproxy} toxiproxy
 * @property {Record<string, string>} listen    route name → the host:port clients use
 * @property {(enabled: boolean) => Promise<void>} setEnabled  outage on (false) / off (true) for every route
 * @property {(on: boolean) => Promise<void>} setReset         every connection ends in a TCP RST while on
 * @property {() => Promise<void>} stop
 */

/**
 * Puts a toxiproxy proxy with the shape's toxics in front of each route.
 * @param {string} name @param {Shape} shape @param {Route[]} routes
 * @param {{ toxiproxy?: Toxiproxy, apiPort?: number, log?: (s: string) => void }} [opts]
 * @returns {Promise<Network>}
 */
export async function startNetwork(name, shape, routes, { toxiproxy, apiPort, log } = {}) {
  if (shape.direct) throw new NetworkError(`shape '${name}' needs no proxy`);
  const toxi = toxiproxy ?? (await startToxiproxy({ apiPort, log }));
  /** @type {Record<string, string>} */
  const listen = {};
  // One toxiproxy may serve several shapes at once: its proxies are named <shape>_<route>.
  /** @param {Route} r */
  const proxy = (r) => `/proxies/${encodeURIComponent(`${name}_${r.name}`)}`;
  try {
    for (const r of routes) {
      const p = await toxi.api('POST', '/proxies', {
        name: `${name}_${r.name}`,
        listen: r.listen,
        upstream: r.upstream,
        enabled: true,
      });
      listen[r.name] = p.listen;
      for (const t of toxicsFor(shape)) await toxi.api('POST', `${proxy(r)}/toxics`, t);
    }
  } catch (err) {
    if (!toxiproxy) await toxi.stop();
    throw err;
  }
  return {
    name,
    shape,
    toxiproxy: toxi,
    listen,
    setEnabled: async (enabled) => {
      // Re-enabling must listen on the same port again: give the address toxiproxy reported.
      for (const r of routes)
        await toxi.api('POST', proxy(r), { enabled, listen: listen[r.name], upstream: r.upstream });
    },
    setReset: async (on) => {
      for (const r of routes) {
        for (const stream of ['upstream', 'downstream']) {
          const toxic = `fault_reset_${stream}`;
          if (on)
            await toxi.api('POST', `${proxy(r)}/toxics`, {
              name: toxic,
              type: 'reset_peer',
              stream,
              toxicity: 1,
              attributes: { timeout: 0 },
            });
          else await toxi.api('DELETE', `${proxy(r)}/toxics/${toxic}`);
        }
      }
    },
    stop: async () => {
      if (!toxiproxy) await toxi.stop();
      else for (const r of routes) await toxi.api('DELETE', proxy(r)).catch(() => {});
    },
  };
}

/** One line describing a shape, for logs and summaries. @param {string} name @param {Shape} shape */
export function describeShape(name, shape) {
  if (shape.direct) return `${name}: ${shape.description}`;
  /** @param {Direction | undefined} d */
  const dir = (d) =>
    d
      ? `+${d.latencyMs}${d.jitterMs ? `±${d.jitterMs}` : ''} ms${d.kbps ? `, ${d.kbps >= 1000 ? `${d.kbps / 1000} Mbit/s` : `${d.kbps} kbit/s`}` : ''}`
      : 'unshaped';
  return `${name}: ${shape.description} [up ${dir(shape.up)}; down ${dir(shape.down)}]`;
}

/**
 * @typedef {object} ShapedServers
 * @property {import('./harness.mjs').Servers} servers  the servers themselves (direct addresses)
 * @property {Network | null} network                   null under a direct shape (loopback)
 * @property {string} shapeName
 * @property {() => Record<string, string>} env          -e settings: every protocol's address through the shape, /stats direct
 * @property {string[]} k6Args                           --tag network=<shape>
 * @property {() => Promise<void>} stop
 */

/**
 * The servers (started here unless given) behind the shape `shapeName`: one proxy for the HTTP
 * port (WebSocket, SSE, Socket.IO, the bridge) and one for gRPC. The monitor's /stats polls go
 * to the servers directly so that they do not share the shaped link with the workload.
 * @param {string} shapeName
 * @param {{ servers?: import('./harness.mjs').Servers, args?: string[], shapes?: Record<string, Shape>, toxiproxy?: Toxiproxy, log?: (s: string) => void }} [opts]
 * @returns {Promise<ShapedServers>}
 */
export async function startShapedServers(shapeName, { servers, args = [], shapes, toxiproxy, log } = {}) {
  const shape = resolveShape(shapeName, shapes);
  const { startServers } = await import('./harness.mjs');
  const srv = servers ?? (await startServers(args));
  const own = !servers;
  /** @type {Network | null} */
  let network = null;
  try {
    if (!shape.direct) {
      const httpHost = new URL(srv.httpUrl).host;
      network = await startNetwork(
        shapeName,
        shape,
        [
          { name: 'http', listen: '127.0.0.1:0', upstream: httpHost },
          { name: 'grpc', listen: '127.0.0.1:0', upstream: srv.grpcAddr },
        ],
        { toxiproxy, log },
      );
    }
  } catch (err) {
    if (own) await srv.stop();
    throw err;
  }
  const env = () => {
    if (!network) return { ...srv.env(), NETWORK: shapeName };
    const http = `http://${network.listen.http}`;
    return {
      ...srv.env(),
      WS_URL: `ws://${network.listen.http}`,
      SSE_URL: `${http}/sse`,
      SOCKETIO_URL: http,
      GRPC_ADDR: network.listen.grpc ?? '',
      NETWORK: shapeName,
    };
  };
  return {
    servers: srv,
    network,
    shapeName,
    env,
    k6Args: ['--tag', `network=${shapeName}`],
    stop: async () => {
      await network?.stop();
      if (own) await srv.stop();
    },
  };
}

/**
 * @typedef {object} Fault
 * @property {'outage' | 'reset'} kind  outage: the proxies stop (listeners closed, every connection
 *                                      cut, new ones refused) for `forMs`; reset: every connection
 *                                      that carries data in the next `forMs` ends with a TCP RST
 * @property {number} atMs              from the start of the k6 run
 * @property {number} forMs
 */

const FAULT_KINDS = ['outage', 'reset'];
const RESET_WINDOW_MS = 300;

/** @param {string} where @param {string} raw */
function faultDuration(where, raw) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(raw);
  if (!m) throw new NetworkError(`${where}: '${raw}' is not a duration (examples: 500ms, 5s, 1m)`);
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[/** @type {'ms' | 's' | 'm'} */ (m[2])]);
}

/**
 * A fault schedule: comma-separated `outage@AT:FOR` (the proxy down from AT for FOR) and
 * `reset@AT` (TCP RST on every connection at AT; `reset@AT:FOR` keeps resetting for FOR,
 * default 300ms), e.g. `outage@5s:2s,reset@12s`.
 * @param {string} spec @returns {Fault[]}
 */
export function parseFaults(spec) {
  if (spec.trim() === '') return [];
  return spec.split(',').map((item) => {
    const where = `FAULT '${item.trim()}'`;
    const m = /^([a-z]+)@([^:]+)(?::(.+))?$/.exec(item.trim());
    if (!m) throw new NetworkError(`${where}: expected KIND@AT[:FOR], e.g. outage@5s:2s or reset@5s`);
    const kind = /** @type {Fault['kind']} */ (m[1]);
    if (!FAULT_KINDS.includes(kind))
      throw new NetworkError(`${where}: unknown fault '${m[1]}' (known: ${FAULT_KINDS.join(', ')})`);
    if (kind === 'outage' && m[3] === undefined)
      throw new NetworkError(`${where}: an outage needs its length, e.g. outage@5s:2s`);
    const forMs = m[3] === undefined ? RESET_WINDOW_MS : faultDuration(where, m[3]);
    if (forMs <= 0) throw new NetworkError(`${where}: the length must be more than 0`);
    return { kind, atMs: faultDuration(where, m[2]), forMs };
  });
}

/**
 * Applies a fault schedule to a network from now on. `stop()` cancels what has not happened
 * and always leaves the network healthy (enabled, no reset), then resolves with what was done.
 * @param {Network} network @param {Fault[]} faults @param {{ log?: (s: string) => void }} [opts]
 */
export function scheduleFaults(network, faults, { log = () => {} } = {}) {
  const t0 = Date.now();
  /** @type {Array<{ atMs: number, action: string }>} */
  const done = [];
  /** @type {NodeJS.Timeout[]} */
  const timers = [];
  /** @type {Promise<void>} */
  let chain = Promise.resolve();
  /** @param {number} atMs @param {string} action @param {() => Promise<void>} fn */
  const at = (atMs, action, fn) => {
    timers.push(
      setTimeout(() => {
        chain = chain.then(async () => {
          await fn();
          done.push({ atMs: Date.now() - t0, action });
          log(`fault: ${action} at ${((Date.now() - t0) / 1000).toFixed(2)} s`);
        });
      }, atMs),
    );
  };
  for (const f of faults) {
    if (f.kind === 'outage') {
      at(f.atMs, 'network down', () => network.setEnabled(false));
      at(f.atMs + f.forMs, 'network up', () => network.setEnabled(true));
    } else {
      at(f.atMs, 'reset on', () => network.setReset(true));
      at(f.atMs + f.forMs, 'reset off', () => network.setReset(false));
    }
  }
  return {
    stop: async () => {
      for (const t of timers) clearTimeout(t);
      await chain.catch(() => {});
      await network.setEnabled(true).catch(() => {});
      if (faults.some((f) => f.kind === 'reset')) await network.setReset(false).catch(() => {});
      return done;
    },
  };
}
