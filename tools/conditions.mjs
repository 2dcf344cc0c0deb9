// @ts-check
// The conditions `npm start` runs under (--network, --proxy, -e FAULT), in one place so that
// tools/start.mjs only asks for them: k6 → [toxiproxy shape] → [reverse proxy] → the servers.
import {
  NetworkError,
  knownShapes,
  parseFaults,
  resolveShape,
  scheduleFaults,
  startShapedServers,
} from './network.mjs';
import { PROXIES, behindProxy, startProxy } from './proxy.mjs';

/**
 * Checks --network, --proxy and -e FAULT together; throws an error naming the bad value.
 * @param {{ network?: string, proxy?: string, fault?: string }} o
 * @returns {{ network: string | null, proxy: string | null }}
 */
export function checkConditions({ network, proxy, fault }) {
  const shape = network ? resolveShape(network, knownShapes()) : null;
  if (proxy !== undefined && !PROXIES.includes(proxy))
    throw new NetworkError(`--proxy: unknown proxy '${proxy}' (known: ${PROXIES.join(', ')})`);
  if (parseFaults(fault ?? '').length && (!shape || shape.direct)) {
    throw new NetworkError(`-e FAULT needs a network shape with a proxy (--network lan, wan, …)`);
  }
  return { network: network && !shape?.direct ? network : null, proxy: proxy ?? null };
}

/**
 * Starts what the conditions need in front of `servers`.
 * @param {import('./harness.mjs').Servers} servers
 * @param {{ network: string | null, proxy: string | null }} conditions
 * @param {string} [fault] the -e FAULT schedule, applied during each run
 */
export async function startConditions(servers, conditions, fault = '') {
  const proxy = conditions.proxy
    ? await startProxy(conditions.proxy, {
        httpUpstream: new URL(servers.httpUrl).host,
        grpcUpstream: servers.grpcAddr,
      })
    : null;
  const target = proxy ? behindProxy(servers, proxy) : servers;
  const shaped = await startShapedServers(conditions.network ?? 'loopback', { servers: target }).catch(async (err) => {
    await proxy?.stop();
    throw err;
  });
  const faults = parseFaults(fault);
  return {
    /** @returns {string} */
    describe: () =>
      [
        conditions.network && `network ${conditions.network}`,
        proxy && `${proxy.name} ${proxy.httpUrl} ${proxy.grpcAddr}`,
      ]
        .filter(Boolean)
        .join(', '),
    /** every protocol's address through the conditions (/stats stays direct) */
    env: () => shaped.env(),
    /** --tag network=… and proxy=… for every sample */
    k6Args: [...shaped.k6Args, ...(proxy ? ['--tag', `proxy=${proxy.name}`] : [])],
    /** starts the fault schedule for one run; stop() it when the run ends */
    faults: () =>
      shaped.network && faults.length
        ? scheduleFaults(shaped.network, faults, { log: (l) => console.log(`    ${l}`) })
        : null,
    /** the proxy process's CPU so far, ms (null without a proxy) */
    proxyCpuMs: () => proxy?.cpuMs() ?? null,
    stop: async () => {
      await shaped.stop();
      await proxy?.stop();
    },
  };
}
