// `npm run k8s`: the manifests for k6-operator, as documents (no cluster, no validator here; the
// e2e tier validates them with kubeconform).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { manifests, parseCli, scenarioNames, toYaml } from '../../tools/k8s.mjs';
import { root } from '../../tools/paths.mjs';
import { SHAPES, toxicsFor } from '../../tools/network.mjs';

const base = {
  scenario: 'ws-image',
  parallelism: 4,
  env: { PROFILE: 'load', VUS: '5000' },
  image: 'registry.example/rtbench-k6:1',
  serversImage: 'registry.example/rtbench-servers:1',
  influx: 'http://influxdb:8086/k6',
  testid: 'run-1',
  name: 'rtbench-ws-image',
  token: false,
};
const envOf = (doc: any) => Object.fromEntries(doc.spec.runner.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

test('a TestRun for k6-operator: N runners of the rtbench image, the scenario as a local file, influx output and testid', () => {
  const [deployment, service, testRun] = manifests(base);
  assert.equal(testRun.apiVersion, 'k6.io/v1alpha1');
  assert.equal(testRun.kind, 'TestRun');
  assert.equal(testRun.spec.parallelism, 4);
  assert.deepEqual(testRun.spec.script, { localFile: '/rtbench/dist/ws-image.js' });
  assert.equal(testRun.spec.arguments, '--out influxdb=http://influxdb:8086/k6 --tag testid=run-1 --tag run=ws-image');
  assert.equal(testRun.spec.runner.image, 'registry.example/rtbench-k6:1');
  assert.deepEqual(envOf(testRun), {
    WS_URL: 'ws://rtbench-servers:8080',
    SSE_URL: 'http://rtbench-servers:8080/sse',
    SOCKETIO_URL: 'http://rtbench-servers:8080',
    GRPC_ADDR: 'rtbench-servers:50051',
    STATS_URL: 'http://rtbench-servers:8080/stats',
    PROFILE: 'load',
    VUS: '5000',
  });
  // The addresses point at the Service, whose ports reach the Deployment's named container ports.
  assert.equal(service.metadata.name, 'rtbench-servers');
  assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
  assert.deepEqual(deployment.spec.template.metadata.labels['app.kubernetes.io/name'], 'rtbench-servers');
  const container = deployment.spec.template.spec.containers[0];
  assert.deepEqual(
    container.ports.map((p: any) => [p.name, p.containerPort]),
    [
      ['http', 8080],
      ['grpc', 50051],
    ],
  );
  assert.deepEqual(
    service.spec.ports.map((p: any) => [p.port, p.targetPort]),
    [
      [8080, 'http'],
      [50051, 'grpc'],
    ],
  );
  assert.equal(container.readinessProbe.httpGet.path, '/healthz');
  assert.deepEqual(container.env, [{ name: 'RTBENCH_HOST', value: '0.0.0.0' }]);
});

test('every scenario gets manifests; the scenario list is scripts/', () => {
  assert.ok(scenarioNames().includes('grpc-over-ws'));
  for (const scenario of scenarioNames())
    assert.equal(
      manifests({ ...base, scenario, name: `rtbench-${scenario}` })[2].spec.script.localFile,
      `/rtbench/dist/${scenario}.js`,
    );
});

test('a token is read from a Secret by servers and runners, and its value is never written', () => {
  const docs = manifests({ ...base, env: { ...base.env, TOKEN: 's3cret' }, token: true });
  const yaml = toYaml(docs);
  assert.doesNotMatch(yaml, /s3cret/);
  const ref = { secretKeyRef: { name: 'rtbench-token', key: 'TOKEN' } };
  assert.deepEqual(envOf(docs[2]).TOKEN, ref);
  assert.deepEqual(docs[0].spec.template.spec.containers[0].env.find((e: any) => e.name === 'TOKEN').valueFrom, ref);
});

test('bad values are refused by name', () => {
  assert.throws(() => manifests({ ...base, scenario: 'ws-imag' }), /no scenario 'ws-imag' \(there are: .*ws-image/);
  assert.throws(() => manifests({ ...base, parallelism: 0 }), /--parallelism '0'/);
  assert.throws(() => manifests({ ...base, name: 'Bad_Name' }), /--name 'Bad_Name': expected a DNS label/);
  assert.throws(() => manifests({ ...base, testid: 'a b' }), /--testid 'a b': must be non-empty and without spaces/);
  assert.throws(() => manifests({ ...base, env: { 'NO-DASH': '1' } }), /'NO-DASH' is not an environment variable name/);
  assert.throws(() => parseCli(['ws-image', '--parallelism', 'four']), /--parallelism 'four'/);
  assert.throws(() => parseCli(['ws-image', '-e', 'VUS']), /-e 'VUS': expected NAME=VALUE/);
  assert.throws(() => parseCli([]), /which scenario\?/);
  assert.throws(() => parseCli(['ws-image', '--paralelism', '2']), /--paralelism/);
});

test('the CLI: --help, multi-document YAML on stdout, files with --out, defaults', () => {
  const cli = join(root, 'tools', 'k8s.mjs');
  const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /usage: npm run k8s -- <scenario>/);
  const res = spawnSync(
    process.execPath,
    [cli, 'sse-feed', '--parallelism', '3', '-e', 'MODE=fanout', '--testid', 'x1'],
    { encoding: 'utf8' },
  );
  assert.equal(res.status, 0, res.stderr);
  const docs = parseAllDocuments(res.stdout).map((d) => d.toJS());
  assert.deepEqual(
    docs.map((d) => d.kind),
    ['Deployment', 'Service', 'TestRun'],
  );
  assert.equal(docs[2].metadata.name, 'rtbench-sse-feed');
  assert.equal(docs[2].spec.parallelism, 3);
  assert.equal(envOf(docs[2]).MODE, 'fanout');
  assert.equal(envOf(docs[2]).PROFILE, 'compare');
  const out = mkdtempSync(join(tmpdir(), 'rtbench-k8s-'));
  const files = spawnSync(
    process.execPath,
    [cli, 'sse-feed', '--parallelism', '3', '-e', 'MODE=fanout', '--testid', 'x1', '--out', out],
    { encoding: 'utf8' },
  );
  assert.equal(files.status, 0, files.stderr);
  assert.equal(
    readFileSync(join(out, 'servers.yaml'), 'utf8') + '---\n' + readFileSync(join(out, 'testrun.yaml'), 'utf8'),
    res.stdout,
  );
  const bad = spawnSync(process.execPath, [cli, 'nope'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /k8s: no scenario 'nope'/);
});

test('--network SHAPE: toxiproxy in front of the servers with the shape toxics; runners go through it, /stats direct', () => {
  const docs = manifests({ ...base, network: 'wan' });
  assert.deepEqual(
    docs.map((d) => `${d.kind}/${d.metadata.name}`),
    [
      'Deployment/rtbench-servers',
      'Service/rtbench-servers',
      'ConfigMap/rtbench-network',
      'Deployment/rtbench-network',
      'Service/rtbench-network',
      'TestRun/rtbench-ws-image',
    ],
  );
  const [, , configMap, deployment, service, testRun] = docs;
  const env = envOf(testRun);
  assert.equal(env.WS_URL, 'ws://rtbench-network:8080');
  assert.equal(env.SSE_URL, 'http://rtbench-network:8080/sse');
  assert.equal(env.SOCKETIO_URL, 'http://rtbench-network:8080');
  assert.equal(env.GRPC_ADDR, 'rtbench-network:50051');
  assert.equal(env.STATS_URL, 'http://rtbench-servers:8080/stats');
  assert.match(testRun.spec.arguments, / --tag network=wan$/);
  // the proxies toxiproxy's -config creates, and the toxics are exactly the local harness's
  assert.deepEqual(JSON.parse(configMap.data['toxiproxy.json']), [
    { name: 'wan_http', listen: '0.0.0.0:8080', upstream: 'rtbench-servers:8080', enabled: true },
    { name: 'wan_grpc', listen: '0.0.0.0:50051', upstream: 'rtbench-servers:50051', enabled: true },
  ]);
  const toxics = JSON.parse(configMap.data['toxics.json']);
  assert.deepEqual(toxics.wan_http, toxicsFor(SHAPES.wan));
  assert.deepEqual(toxics.wan_grpc, toxicsFor(SHAPES.wan));
  assert.equal(configMap.data['apply-toxics.mjs'], readFileSync(join(root, 'docker', 'apply-toxics.mjs'), 'utf8'));
  const [toxiproxy, sidecar] = deployment.spec.template.spec.containers;
  const pinned = /toxiproxy\/v2 v(\S+)/.exec(readFileSync(join(root, 'tools/go/toxiproxy/go.mod'), 'utf8'))![1];
  assert.equal(toxiproxy.image, `ghcr.io/shopify/toxiproxy:${pinned}`);
  assert.ok(toxiproxy.args.includes('-config=/etc/rtbench-network/toxiproxy.json'));
  assert.equal(sidecar.image, base.serversImage);
  assert.deepEqual(sidecar.command, ['node', '/etc/rtbench-network/apply-toxics.mjs']);
  assert.deepEqual(
    service.spec.ports.map((p: any) => [p.name, p.port, p.targetPort]),
    [
      ['http', 8080, 'http'],
      ['grpc', 50051, 'grpc'],
    ],
  );
  // loopback: no proxy at all, only the tag
  const direct = manifests({ ...base, network: 'loopback' });
  assert.equal(direct.length, 3);
  assert.equal(envOf(direct[2]).WS_URL, 'ws://rtbench-servers:8080');
  assert.match(direct[2].spec.arguments, /--tag network=loopback/);
  assert.equal(
    manifests({ ...base, network: 'wan', toxiproxyImage: 'mirror/toxiproxy:1' })[3].spec.template.spec.containers[0]
      .image,
    'mirror/toxiproxy:1',
  );
});

test('--network: an unknown shape and a fault schedule are refused by name', () => {
  assert.throws(
    () => manifests({ ...base, network: 'wna' }),
    /unknown network shape 'wna' \(known: loopback, lan, wan/,
  );
  assert.throws(() => manifests({ ...base, env: { FAULT: 'outage@5s:2s' } }), /-e FAULT: .*no Kubernetes form/);
  const cli = parseCli(['ws-echo', '--network', 'mobile-lte', '--toxiproxy-image', 'x/y:1']);
  assert.equal(cli!.options.network, 'mobile-lte');
  assert.equal(cli!.options.toxiproxyImage, 'x/y:1');
});
