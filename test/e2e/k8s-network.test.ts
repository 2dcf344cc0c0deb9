// `npm run k8s -- … --network wan` without a cluster: the network pod's two containers run here
// as they would there. The real toxiproxy starts with the generated -config file (its listen and
// upstream addresses moved to loopback: in the cluster they are 0.0.0.0 and the servers'
// Service), the generated sidecar script adds the generated toxics through toxiproxy's API and
// marks itself ready, and the real k6 then sees wan's round trip on WebSocket and gRPC; a toxic
// that toxiproxy loses (as on a restart) is added back.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allChecksPassed, runK6, suiteServers } from '../helpers.ts';
import { manifests } from '../../tools/k8s.mjs';
import { TOXIPROXY_MODULE, TOXIPROXY_PKG, freePort } from '../../tools/network.mjs';
import { goTool } from '../../tools/k6.mjs';

const suite = suiteServers({ servers: [] }, { k6: true });
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000) {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

test('the generated network pod shapes real traffic: toxiproxy from its -config, toxics from the sidecar, wan RTT seen by k6', async (t) => {
  const docs = manifests({
    scenario: 'ws-echo',
    parallelism: 1,
    env: {},
    image: 'rtbench-k6:latest',
    serversImage: 'rtbench-servers:latest',
    influx: null,
    testid: 't',
    name: 'rtbench-ws-echo',
    token: false,
    network: 'wan',
  });
  const configMap = docs.find((d) => d.kind === 'ConfigMap');
  const pod = docs.find((d) => d.kind === 'Deployment' && d.metadata.name === 'rtbench-network').spec.template.spec;
  const dir = mkdtempSync(join(tmpdir(), 'rtbench-k8s-network-'));
  for (const [file, text] of Object.entries<string>(configMap.data)) writeFileSync(join(dir, file), text);

  // The cluster addresses, moved to loopback: the servers' Service → these servers, 0.0.0.0 → free ports.
  const servers = suite.servers;
  const upstream: Record<string, string> = {
    'rtbench-servers:8080': new URL(servers.httpUrl).host,
    'rtbench-servers:50051': servers.grpcAddr,
  };
  const proxies = JSON.parse(configMap.data['toxiproxy.json']);
  const listen: Record<string, string> = {};
  for (const p of proxies) {
    assert.ok(upstream[p.upstream], `${p.name} forwards to the servers' Service (${p.upstream})`);
    p.upstream = upstream[p.upstream];
    p.listen = listen[p.name] = `127.0.0.1:${await freePort()}`;
  }
  writeFileSync(join(dir, 'toxiproxy.json'), JSON.stringify(proxies));

  const [toxiproxy, sidecar] = pod.containers;
  const apiPort = await freePort();
  const bin = await goTool(TOXIPROXY_PKG, { dir: TOXIPROXY_MODULE });
  // the container's own arguments, with the config path and the API's host and port moved here
  const args = toxiproxy.args.map((a: string) =>
    a.startsWith('-config=')
      ? `-config=${join(dir, 'toxiproxy.json')}`
      : a.startsWith('-host=')
        ? '-host=127.0.0.1'
        : a.startsWith('-port=')
          ? `-port=${apiPort}`
          : a,
  );
  const proxy = spawn(bin, args, { stdio: 'ignore' });
  children.push(proxy);
  const api = `http://127.0.0.1:${apiPort}`;
  const ready = join(dir, 'ready');
  const env = Object.fromEntries(sidecar.env.map((e: { name: string; value: string }) => [e.name, e.value]));
  assert.equal(env.TOXIPROXY_URL, 'http://127.0.0.1:8474');
  const script = spawn(process.execPath, [join(dir, 'apply-toxics.mjs')], {
    stdio: 'ignore',
    env: { ...process.env, TOXIPROXY_URL: api, TOXICS: join(dir, 'toxics.json'), READY_FILE: ready, CHECK_MS: '300' },
  });
  children.push(script);
  await until('the sidecar marks itself ready (every toxic in place)', () => existsSync(ready));
  const toxicsOf = async (name: string) =>
    ((await (await fetch(`${api}/proxies/${name}/toxics`)).json()) as Array<{ name: string }>)
      .map((x) => x.name)
      .sort();
  const expected = ['bandwidth_down', 'bandwidth_up', 'latency_down', 'latency_up'];
  assert.deepEqual(await toxicsOf('wan_http'), expected);
  assert.deepEqual(await toxicsOf('wan_grpc'), expected);

  // The runners' addresses, as the TestRun gives them, pointed at the moved listeners.
  const http = `http://${listen.wan_http}`;
  const shaped = {
    WS_URL: `ws://${listen.wan_http}`,
    SSE_URL: `${http}/sse`,
    SOCKETIO_URL: http,
    GRPC_ADDR: listen.wan_grpc,
    STATS_URL: `${servers.httpUrl}/stats`,
    VUS: '1',
    ITERATIONS: '1',
    MONITOR: 'off',
  };
  // wan: 20 ± 5 ms each way, so every round trip takes at least 30 ms
  for (const [script, extra] of [
    ['ws-echo.js', { WINDOW: '1s' }],
    ['grpc-unary.js', { COUNT: '5' }],
  ] as const) {
    const run = await runK6(script, { ...shaped, ...extra });
    allChecksPassed(run, []);
    const lat = run.summary.metrics.rtb_latency;
    t.diagnostic(
      `${script} through the pod's toxiproxy: round trip min ${lat.min.toFixed(1)} ms, med ${lat.med.toFixed(1)} ms`,
    );
    assert.ok(lat.min >= 29, `${script}: round trip ${lat.min} ms is below wan's 30 ms minimum`);
    assert.ok(lat.med <= 200, `${script}: median round trip ${lat.med} ms`);
  }

  // toxiproxy losing its toxics (a restarted container keeps only its -config proxies): added back
  await fetch(`${api}/proxies/wan_http/toxics/latency_up`, { method: 'DELETE' });
  assert.deepEqual(await toxicsOf('wan_http'), ['bandwidth_down', 'bandwidth_up', 'latency_down']);
  await until('the sidecar adds the lost toxic back', async () => (await toxicsOf('wan_http')).length === 4, 10_000);
  script.kill('SIGTERM');
  proxy.kill('SIGTERM');
});
