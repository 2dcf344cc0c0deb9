// The generated manifests against a real validator: kubeconform (built from the Go module proxy)
// with strict schemas made from Kubernetes' own published OpenAPI document (the k8s.io/kubernetes
// module at a pinned version). k6-operator's TestRun CRD cannot be fetched here (the module proxy
// does not serve github.com/grafana/k6-operator): the TestRun's Kubernetes parts (image, env with
// a Secret reference, the runner's command) are validated as the Pod container they become, and
// the CRD path is exercised with a CRD this test writes (`npm run k8s -- … --validate --crd FILE`
// takes the published one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { manifests, scenarioNames, toYaml } from '../../tools/k8s.mjs';
import { validate } from '../../tools/k8s-validate.mjs';
import { segmentArgs } from '../../tools/segments.mjs';
import { root } from '../../tools/paths.mjs';

const base = {
  scenario: 'ws-image',
  parallelism: 4,
  env: { PROFILE: 'load' },
  image: 'rtbench-k6:latest',
  serversImage: 'rtbench-servers:latest',
  influx: 'http://influxdb:8086/k6',
  testid: 't-1',
  name: 'rtbench-ws-image',
  token: true,
};
const statuses = (r: Awaited<ReturnType<typeof validate>>) =>
  Object.fromEntries(r.resources.map((x) => [`${x.kind}/${x.name}`, x.status]));

test("every scenario's Deployment and Service are valid Kubernetes objects", async () => {
  const docs = scenarioNames().flatMap((scenario) => {
    const [deployment, service, testRun] = manifests({
      ...base,
      scenario,
      name: `rtbench-${scenario}`,
      namespace: scenario,
    });
    return [deployment, service, testRun];
  });
  const res = await validate(toYaml(docs));
  assert.equal(res.ok, true, res.output);
  assert.equal(res.resources.length, docs.length);
  for (const r of res.resources)
    assert.equal(r.status, r.kind === 'TestRun' ? 'statusSkipped' : 'statusValid', `${r.kind}/${r.name}: ${r.msg}`);
});

test('with --network, the ConfigMap, Deployment and Service of toxiproxy in front are valid Kubernetes objects', async () => {
  const docs = manifests({ ...base, network: 'mobile-lte' });
  assert.deepEqual(
    docs.map((d) => d.kind),
    ['Deployment', 'Service', 'ConfigMap', 'Deployment', 'Service', 'TestRun'],
  );
  const res = await validate(toYaml(docs));
  assert.equal(res.ok, true, res.output);
  assert.deepEqual(statuses(res), {
    'Deployment/rtbench-servers': 'statusValid',
    'Service/rtbench-servers': 'statusValid',
    'ConfigMap/rtbench-network': 'statusValid',
    'Deployment/rtbench-network': 'statusValid',
    'Service/rtbench-network': 'statusValid',
    'TestRun/rtbench-ws-image': 'statusSkipped',
  });
});

test('the validator really checks: a misspelt field, a wrong type and a missing required field fail', async () => {
  const [deployment, service] = manifests(base);
  const typo = structuredClone(deployment);
  typo.spec.replica = typo.spec.replicas;
  delete typo.spec.replicas;
  typo.metadata.name = 'typo';
  const wrongType = structuredClone(service);
  wrongType.spec.ports[0].port = 'http';
  wrongType.metadata.name = 'wrong-type';
  const missing = structuredClone(deployment);
  delete missing.spec.template.spec.containers[0].name;
  missing.metadata.name = 'missing';
  const res = await validate(toYaml([typo, wrongType, missing]));
  assert.equal(res.ok, false);
  assert.deepEqual(statuses(res), {
    'Deployment/typo': 'statusInvalid',
    'Service/wrong-type': 'statusInvalid',
    'Deployment/missing': 'statusInvalid',
  });
  assert.match(res.resources.find((r) => r.name === 'typo')!.msg, /'replica' not allowed/);
});

test("the TestRun's runner becomes a valid Pod container: image, env with the Secret reference, the k6 command", async () => {
  const [, , testRun] = manifests(base);
  const spec = testRun.spec;
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${testRun.metadata.name}-2` },
    spec: {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'k6',
          image: spec.runner.image,
          env: spec.runner.env,
          command: [
            'k6',
            'run',
            '--quiet',
            ...segmentArgs(2, spec.parallelism),
            ...spec.arguments.split(' '),
            spec.script.localFile,
            '--address=0.0.0.0:6565',
            '--paused',
          ],
        },
      ],
    },
  };
  const res = await validate(stringify(pod));
  assert.equal(res.ok, true, res.output);
  assert.deepEqual(statuses(res), { 'Pod/rtbench-ws-image-2': 'statusValid' });
});

test('with a TestRun CRD given, the TestRun is validated against its schema', async () => {
  // A CRD written for this test with the shape of the fields rtbench sets (the published one is
  // passed the same way: npm run k8s -- ws-image --validate --crd k6.io_testruns.yaml).
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'testruns.k6.io' },
    spec: {
      group: 'k6.io',
      names: { kind: 'TestRun', plural: 'testruns' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1alpha1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: {
                  type: 'object',
                  required: ['parallelism', 'script'],
                  properties: {
                    parallelism: { type: 'integer', format: 'int32' },
                    arguments: { type: 'string' },
                    script: { type: 'object', properties: { localFile: { type: 'string' } } },
                    runner: {
                      type: 'object',
                      properties: {
                        image: { type: 'string' },
                        env: {
                          type: 'array',
                          items: {
                            type: 'object',
                            required: ['name'],
                            properties: {
                              name: { type: 'string' },
                              value: { type: 'string' },
                              valueFrom: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                            },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      ],
    },
  };
  const file = join(mkdtempSync(join(tmpdir(), 'rtbench-crd-')), 'testruns.yaml');
  writeFileSync(file, stringify(crd));
  const [, , testRun] = manifests(base);
  const good = await validate(toYaml([testRun]), { crd: file });
  assert.equal(good.ok, true, good.output);
  assert.deepEqual(statuses(good), { 'TestRun/rtbench-ws-image': 'statusValid' });
  const bad = structuredClone(testRun);
  bad.spec.parallelism = '4';
  bad.spec.runner.imag = 'x';
  const res = await validate(toYaml([bad]), { crd: file });
  assert.equal(res.ok, false);
  assert.match(res.resources[0]!.msg, /expected integer, but got string|'imag' not allowed/);
});

test('npm run k8s -- … --validate says what it checked and what it could not', () => {
  const res = spawnSync(
    process.execPath,
    [join(root, 'tools', 'k8s.mjs'), 'grpc-bidi', '--parallelism', '3', '--validate'],
    { encoding: 'utf8', timeout: 300_000 },
  );
  assert.equal(res.status, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /^valid\s+Deployment\/rtbench-servers$/m);
  assert.match(res.stdout, /^valid\s+Service\/rtbench-servers$/m);
  assert.match(res.stdout, /^skipped\s+TestRun\/rtbench-grpc-bidi$/m);
  assert.match(res.stdout, /TestRun not checked: give k6-operator's CRD with --crd FILE/);
});
