// @ts-check
// The conditions `npm start` runs under (--network, --proxy, -e FAULT), in one place so that
// tools/start.mjs only asks for them: k6 → [toxiproxy shape] → [reverse proxy] → the servers.
import {
  NetworkError,
  knownShapes,
  parseFaults,
  parseShapeList,
  resolveShape,
  scheduleFaults,
  startShapedServers,
  startToxiproxy,
} from './network.mjs';
import { PROXIES, behindProxy, nginxBin, startProxy } from './proxy.mjs';

/**
 * Checks --network, --proxy and -e FAULT together; throws an error naming the bad value.
 * @param {{ network?: string, proxy?: string, fault?: string }} o
 * @returns {{ network: string | null, proxy: string | null }}
 */
export function checkConditions({ network, proxy, fault }) {
  const shape = network ? resolveShape(network, knownShapes()) : null;
  if (proxy !== undefined && !PROXIES.includes(proxy))
    throw new NetworkError(`--proxy: unknown proxy '${proxy}' (known: ${PROXIES.join(', ')})`);
  if (proxy === 'nginx') {
    // an optional extra: say what to install before anything is built or started
    try {
      nginxBin();
    } catch (err) {
      throw new NetworkError(`--proxy nginx: ${/** @type {Error} */ (err).message}`);
    }
  }
  if (parseFaults(fault ?? '').length && (!shape || shape.direct)) {
    throw new NetworkError(`-e FAULT needs a network shape with a proxy (--network lan, wan, …)`);
  }
  return { network: network && !shape?.direct ? network : null, proxy: proxy ?? null };
}

/** --proxy's word for "no proxy" in a list (`--proxy caddy,none`). */
export const NO_PROXY = 'none';

/**
 * The conditions a run goes through, one set after another: every shape of the comma-separated
 * --network list (loopback allowed) times every proxy of the --proxy list (`none`: no proxy), shapes
 * outermost. One shape and one proxy give one set, exactly what checkConditions gives. Every bad or
 * repeated name stops here, before anything starts, with an error naming it.
 * @param {{ network?: string, proxy?: string, fault?: string }} o
 * @returns {Array<{ network: string | null, proxy: string | null }>}
 */
export function checkConditionList({ network, proxy, fault }) {
  const shapes = knownShapes();
  /** @type {Array<string | undefined>} */
  const networks = network === undefined ? [undefined] : parseShapeList(network, shapes);
  /** @type {Array<string | undefined>} */
  const proxies =
    proxy === undefined
      ? [undefined]
      : proxy
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean);
  if (proxies.length === 0)
    throw new NetworkError(`--proxy '${proxy}' names no proxy (known: ${[...PROXIES, NO_PROXY].join(', ')})`);
  /** @type {Array<[string, Array<string | undefined>]>} */
  const lists = [
    ['--network', networks],
    ['--proxy', proxies],
  ];
  for (const [flag, list] of lists) {
    const twice = list.find((x, i) => x !== undefined && list.indexOf(x) !== i);
    if (twice) throw new NetworkError(`${flag}: '${twice}' is named twice`);
  }
  for (const p of proxies) {
    if (p !== undefined && p !== NO_PROXY && !PROXIES.includes(p))
      throw new NetworkError(`--proxy: unknown proxy '${p}' (known: ${[...PROXIES, NO_PROXY].join(', ')})`);
  }
  if (parseFaults(fault ?? '').length) {
    const direct = networks.find((n) => n !== undefined && shapes[n].direct);
    if (networks.includes(undefined) || direct)
      throw new NetworkError(
        `-e FAULT needs a network shape with a proxy (--network lan, wan, …)${direct ? `; '${direct}' has none` : ''}`,
      );
  }
  return networks.flatMap((n) =>
    proxies.map((p) =>
      checkConditions({ network: n, proxy: p === NO_PROXY ? undefined : p, fault: n ? fault : undefined }),
    ),
  );
}

/**
 * @typedef {object} ActiveConditions
 * @property {() => string} describe                 e.g. "network lan, caddy http://127.0.0.1:…"
 * @property {() => Record<string, string>} env      every protocol's address through the conditions (/stats stays direct)
 * @property {string[]} k6Args                       --tag network=… and proxy=… for every sample
 * @property {() => ({ stop: () => Promise<unknown> } | null)} faults  starts the fault schedule for one run; stop() it when the run ends
 * @property {() => number | null} proxyCpuMs        the proxy process's CPU so far, ms (null without a proxy)
 */

/**
 * What several sets of conditions need in front of `servers`, switched one set at a time with
 * use(): each reverse proxy starts the first time a set needs it and keeps running, one
 * toxiproxy serves every shape (a shape's proxies are made when its set starts and removed when
 * the next one does), so the servers and the tools start once for a whole --network list.
 * @param {import('./harness.mjs').Servers} servers
 * @param {string} [fault] the -e FAULT schedule, applied during each run under a shape
 */
export function conditionSwitcher(servers, fault = '') {
  /** @type {Map<string, import('./proxy.mjs').Proxy>} */
  const proxies = new Map();
  /** @type {import('./network.mjs').Toxiproxy | null} */
  let toxiproxy = null;
  /** @type {import('./network.mjs').ShapedServers | null} */
  let shaped = null;
  const faults = parseFaults(fault);
  return {
    /**
     * Puts `conditions` in front of the servers instead of the previous set.
     * @param {{ network: string | null, proxy: string | null }} conditions @returns {Promise<ActiveConditions>}
     */
    async use(conditions) {
      await shaped?.stop();
      shaped = null;
      let proxy = conditions.proxy ? proxies.get(conditions.proxy) : undefined;
      if (conditions.proxy && !proxy) {
        proxy = await startProxy(conditions.proxy, {
          httpUpstream: new URL(servers.httpUrl).host,
          grpcUpstream: servers.grpcAddr,
        });
        proxies.set(conditions.proxy, proxy);
      }
      if (conditions.network && !toxiproxy) toxiproxy = await startToxiproxy();
      const target = proxy ? behindProxy(servers, proxy) : servers;
      const now = await startShapedServers(conditions.network ?? 'loopback', {
        servers: target,
        toxiproxy: toxiproxy ?? undefined,
      });
      shaped = now;
      return {
        describe: () =>
          [
            conditions.network && `network ${conditions.network}`,
            proxy && `${proxy.name} ${proxy.httpUrl} ${proxy.grpcAddr}`,
          ]
            .filter(Boolean)
            .join(', '),
        env: () => now.env(),
        k6Args: [...now.k6Args, ...(proxy ? ['--tag', `proxy=${proxy.name}`] : [])],
        faults: () =>
          now.network && faults.length
            ? scheduleFaults(now.network, faults, { log: (l) => console.log(`    ${l}`) })
            : null,
        proxyCpuMs: () => proxy?.cpuMs() ?? null,
      };
    },
    /** stops everything it started (never the servers) */
    async stop() {
      await shaped?.stop().catch(() => {});
      await toxiproxy?.stop();
      for (const p of proxies.values()) await p.stop();
    },
  };
}
