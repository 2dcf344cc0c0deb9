#!/usr/bin/env node
// @ts-check
// `npm run k8s -- <scenario> --parallelism N`: manifests that run one rtbench scenario on
// k6-operator (written against k6-operator v1.6.0, API k6.io/v1alpha1): a TestRun whose N runners
// use the rtbench k6 image (docker/k6.Dockerfile: k6 with our extensions, the bundled scenarios and
// their assets inside, so the script is a `localFile`), and a Deployment + Service for the servers
// (docker/servers.Dockerfile). The runners stream to InfluxDB under one testid, which the Grafana
// dashboards select and `npm run merge -- --influx …` merges.
//
// With --network SHAPE the runners reach the servers through toxiproxy (a Deployment + Service
// rtbench-network in front of rtbench-servers) with the shape's toxics, the same ones
// tools/network.mjs applies locally; /stats stays direct, as locally.
//
// Multi-document YAML on stdout, or with --out DIR two files: servers.yaml (apply first: the
// servers, and the network when shaped) and testrun.yaml.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { root } from './paths.mjs';
import { KUBERNETES_VERSION, validate } from './k8s-validate.mjs';
import { TOXIPROXY_MODULE, describeShape, knownShapes, resolveShape, toxicsFor } from './network.mjs';

export const OPERATOR_VERSION = 'v1.6.0';
const SERVICE = 'rtbench-servers';
const HTTP_PORT = 8080;
const GRPC_PORT = 50051;
/** Where the k6 image keeps the bundled scenarios (docker/k6.Dockerfile). */
const IMAGE_DIST = '/rtbench/dist';
const NETWORK = 'rtbench-network';
const TOXIPROXY_API_PORT = 8474;
/** Where the network pod mounts its ConfigMap. */
const NETWORK_CONFIG_DIR = '/etc/rtbench-network';
/** The toxics sidecar's script (run with the servers image's Node) and its readiness mark. */
const APPLY_TOXICS = join(root, 'docker', 'apply-toxics.mjs');
const TOXICS_READY_FILE = '/tmp/toxics-applied';

/** The toxiproxy release pinned for the local tool (tools/go/toxiproxy/go.mod), as its published image. */
export function toxiproxyImage() {
  const gomod = readFileSync(join(root, TOXIPROXY_MODULE, 'go.mod'), 'utf8');
  const v = /github\.com\/Shopify\/toxiproxy\/v2 v(\d+\.\d+\.\d+)/.exec(gomod);
  if (!v) throw new Error(`${TOXIPROXY_MODULE}/go.mod pins no github.com/Shopify/toxiproxy/v2 version`);
  return `ghcr.io/shopify/toxiproxy:${v[1]}`;
}

/** The Secret the token is read from when the run uses one; the manifests never hold its value. */
export const TOKEN_SECRET = 'rtbench-token';

/** The scenarios: one per scripts/<name>.ts. */
export function scenarioNames() {
  return readdirSync(join(root, 'scripts'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

/**
 * @typedef {object} K8sOptions
 * @property {string} scenario     e.g. ws-image
 * @property {number} parallelism  runner pods (k6 execution segments)
 * @property {Record<string, string>} env  scenario settings (PROFILE, VUS, …), as -e gives them
 * @property {string} image        the rtbench k6 image
 * @property {string} serversImage the rtbench servers image
 * @property {string | null} influx  k6's InfluxDB v1 output URL, or null for none
 * @property {string} testid
 * @property {string} name         the TestRun's name
 * @property {string} [namespace]
 * @property {boolean} token       the servers and runners read TOKEN from the Secret rtbench-token
 * @property {string} [network]    a network shape (tools/network.mjs); loopback or none: direct
 * @property {string} [toxiproxyImage]  the toxiproxy image for a shaped run (default: the pinned release)
 */

/** @param {string} what @param {string} v */
function dnsLabel(what, v) {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v))
    throw new Error(`${what} '${v}': expected a DNS label (lower-case letters, digits and '-', at most 63)`);
  return v;
}

/** @param {string} what @param {string} v */
function noSpace(what, v) {
  if (!v || /\s/.test(v))
    throw new Error(`${what} '${v}': must be non-empty and without spaces (it is passed on k6's command line)`);
  return v;
}

/**
 * The documents: Deployment and Service for the servers, then the TestRun.
 * @param {K8sOptions} o @returns {any[]}
 */
export function manifests(o) {
  if (!scenarioNames().includes(o.scenario))
    throw new Error(`no scenario '${o.scenario}' (there are: ${scenarioNames().join(', ')})`);
  if (!Number.isInteger(o.parallelism) || o.parallelism < 1 || o.parallelism > 1000)
    throw new Error(`--parallelism '${o.parallelism}': expected a whole number from 1 to 1000`);
  dnsLabel('--name', o.name);
  if (o.namespace) dnsLabel('--namespace', o.namespace);
  noSpace('--testid', o.testid);
  if (o.influx !== null) noSpace('--influx', o.influx);
  for (const name of Object.keys(o.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new Error(`-e '${name}=…': '${name}' is not an environment variable name`);
  }
  if (o.env.FAULT !== undefined)
    throw new Error(
      '-e FAULT: fault schedules are applied by the local harness (npm start, npm run servers); they have no Kubernetes form',
    );
  const shape = o.network ? resolveShape(o.network, knownShapes()) : null;
  const shaped = shape !== null && !shape.direct;
  const ns = o.namespace ? { namespace: o.namespace } : {};
  const labels = { 'app.kubernetes.io/name': SERVICE, 'app.kubernetes.io/part-of': 'rtbench' };
  const tokenEnv = o.token
    ? [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: TOKEN_SECRET, key: 'TOKEN' } } }]
    : [];
  // Shaped: every protocol through the network's Service; /stats always straight to the servers.
  const front = shaped ? NETWORK : SERVICE;
  const http = `${front}:${HTTP_PORT}`;
  // One address per protocol, as every scenario reads them; then the run's own settings.
  const addresses = {
    WS_URL: `ws://${http}`,
    SSE_URL: `http://${http}/sse`,
    SOCKETIO_URL: `http://${http}`,
    GRPC_ADDR: `${front}:${GRPC_PORT}`,
    STATS_URL: `http://${SERVICE}:${HTTP_PORT}/stats`,
  };
  const runnerEnv = [
    ...Object.entries({ ...addresses, ...o.env })
      .filter(([k]) => k !== 'TOKEN')
      .map(([name, value]) => ({ name, value })),
    ...tokenEnv,
  ];
  const args = [
    ...(o.influx ? ['--out', `influxdb=${o.influx}`] : []),
    '--tag',
    `testid=${o.testid}`,
    '--tag',
    `run=${o.scenario}`,
    ...(o.network ? ['--tag', `network=${o.network}`] : []),
  ];
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: SERVICE, ...ns, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { 'app.kubernetes.io/name': SERVICE } },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'servers',
              image: o.serversImage,
              env: [{ name: 'RTBENCH_HOST', value: '0.0.0.0' }, ...tokenEnv],
              ports: [
                { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
                { name: 'grpc', containerPort: GRPC_PORT, protocol: 'TCP' },
              ],
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10, failureThreshold: 6 },
              resources: { requests: { cpu: '1', memory: '512Mi' } },
            },
          ],
          // the servers finish open work on SIGTERM
          terminationGracePeriodSeconds: 30,
        },
      },
    },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: SERVICE, ...ns, labels },
    spec: {
      selector: { 'app.kubernetes.io/name': SERVICE },
      ports: [
        { name: 'http', port: HTTP_PORT, targetPort: 'http', protocol: 'TCP' },
        { name: 'grpc', port: GRPC_PORT, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' },
      ],
    },
  };
  const testRun = {
    apiVersion: 'k6.io/v1alpha1',
    kind: 'TestRun',
    metadata: {
      name: o.name,
      ...ns,
      labels: { 'app.kubernetes.io/part-of': 'rtbench', 'rtbench/scenario': o.scenario },
    },
    spec: {
      parallelism: o.parallelism,
      script: { localFile: `${IMAGE_DIST}/${o.scenario}.js` },
      // one string, split by the operator: every part above is checked to hold no spaces
      arguments: args.join(' '),
      runner: { image: o.image, env: runnerEnv },
    },
  };
  const network = shaped
    ? networkManifests({
        ns,
        shapeName: /** @type {string} */ (o.network),
        toxics: toxicsFor(shape),
        description: describeShape(/** @type {string} */ (o.network), shape),
        image: o.toxiproxyImage ?? toxiproxyImage(),
        nodeImage: o.serversImage,
      })
    : [];
  return [deployment, service, ...network, testRun];
}

/**
 * toxiproxy in front of the servers, shaped: a ConfigMap (toxiproxy's -config file with one proxy
 * per server port, the toxics, the sidecar script), a Deployment whose pod runs toxiproxy and the
 * sidecar that adds the toxics through toxiproxy's API (the pod is ready once they are in), and the
 * Service the runners connect to.
 * @param {{ ns: object, shapeName: string, toxics: object[], description: string, image: string, nodeImage: string }} p
 */
function networkManifests({ ns, shapeName, toxics, description, image, nodeImage }) {
  const labels = { 'app.kubernetes.io/name': NETWORK, 'app.kubernetes.io/part-of': 'rtbench' };
  const routes = [
    { name: 'http', port: HTTP_PORT },
    { name: 'grpc', port: GRPC_PORT },
  ];
  const proxies = routes.map((r) => ({
    name: `${shapeName}_${r.name}`,
    listen: `0.0.0.0:${r.port}`,
    upstream: `${SERVICE}:${r.port}`,
    enabled: true,
  }));
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: NETWORK, ...ns, labels, annotations: { 'rtbench/network': description } },
    data: {
      'toxiproxy.json': JSON.stringify(proxies, null, 2) + '\n',
      'toxics.json': JSON.stringify(Object.fromEntries(proxies.map((p) => [p.name, toxics])), null, 2) + '\n',
      'apply-toxics.mjs': readFileSync(APPLY_TOXICS, 'utf8'),
    },
  };
  const volumeMounts = [{ name: 'config', mountPath: NETWORK_CONFIG_DIR, readOnly: true }];
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: NETWORK, ...ns, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { 'app.kubernetes.io/name': NETWORK } },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'toxiproxy',
              image,
              args: ['-host=0.0.0.0', `-port=${TOXIPROXY_API_PORT}`, `-config=${NETWORK_CONFIG_DIR}/toxiproxy.json`],
              ports: [
                ...routes.map((r) => ({ name: r.name, containerPort: r.port, protocol: 'TCP' })),
                { name: 'api', containerPort: TOXIPROXY_API_PORT, protocol: 'TCP' },
              ],
              livenessProbe: { httpGet: { path: '/version', port: 'api' }, periodSeconds: 10 },
              volumeMounts,
            },
            {
              name: 'toxics',
              image: nodeImage,
              command: ['node', `${NETWORK_CONFIG_DIR}/apply-toxics.mjs`],
              env: [
                { name: 'TOXIPROXY_URL', value: `http://127.0.0.1:${TOXIPROXY_API_PORT}` },
                { name: 'TOXICS', value: `${NETWORK_CONFIG_DIR}/toxics.json` },
                { name: 'READY_FILE', value: TOXICS_READY_FILE },
              ],
              readinessProbe: { exec: { command: ['test', '-f', TOXICS_READY_FILE] }, periodSeconds: 2 },
              volumeMounts,
            },
          ],
          volumes: [{ name: 'config', configMap: { name: NETWORK } }],
        },
      },
    },
  };
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: NETWORK, ...ns, labels },
    spec: {
      selector: { 'app.kubernetes.io/name': NETWORK },
      ports: routes.map((r) => ({
        name: r.name,
        port: r.port,
        targetPort: r.name,
        protocol: 'TCP',
        ...(r.name === 'grpc' ? { appProtocol: 'kubernetes.io/h2c' } : {}),
      })),
    },
  };
  return [configMap, deployment, service];
}

/** @param {any[]} docs */
export const toYaml = (docs) =>
  docs.map((d) => stringify(d, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');

const USAGE = `usage: npm run k8s -- <scenario> [options]
  Prints manifests that run <scenario> on k6-operator (${OPERATOR_VERSION}, k6.io/v1alpha1 TestRun) against
  the rtbench servers in the same namespace: a Deployment + Service (${SERVICE}) and a TestRun.

  --parallelism N       runner pods, each with its k6 execution segment (default 1)
  -e NAME=VALUE         a scenario setting for every runner, e.g. -e PROFILE=load -e VUS=5000 (repeatable)
  --profile NAME        shorthand for -e PROFILE=NAME (default compare)
  --image IMG           the rtbench k6 image (docker/k6.Dockerfile; default rtbench-k6:latest)
  --servers-image IMG   the rtbench servers image (docker/servers.Dockerfile; default rtbench-servers:latest)
  --influx URL          k6's InfluxDB output (default http://influxdb:8086/k6); 'none' for no output
  --testid ID           tag on every sample, what the dashboards and the merge select (default k8s-<scenario>-<time>)
  --name NAME           the TestRun's name (default rtbench-<scenario>)
  --namespace NS        put everything in this namespace
  --network SHAPE       runners reach the servers through toxiproxy shaped like SHAPE (loopback, lan, wan,
                        mobile-lte, mobile-3g or one from rtbench.config.json): adds a ConfigMap, Deployment
                        and Service ${NETWORK}; samples are tagged network=SHAPE; /stats stays direct
  --toxiproxy-image IMG the toxiproxy image for --network (default ghcr.io/shopify/toxiproxy, the pinned release)
  --out DIR             write DIR/servers.yaml and DIR/testrun.yaml instead of printing
  --validate            check the manifests with kubeconform instead of printing them: Deployment and Service
                        against Kubernetes ${KUBERNETES_VERSION}'s published API schemas, the TestRun against
                        k6-operator's CRD if --crd is given (else it is reported as not checked)
  --crd FILE            k6-operator's TestRun CRD (config/crd/bases/k6.io_testruns.yaml of its repository)
  -h, --help            this text
  With TOKEN set (in the environment or with -e), servers and runners read it from the Secret
  '${TOKEN_SECRET}' (key TOKEN), which you create; its value is never written into the manifests.
Scenarios: ${scenarioNames().join(', ')}`;

/** @param {string[]} argv */
export function parseCli(argv, env = process.env) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      parallelism: { type: 'string', default: '1' },
      env: { type: 'string', short: 'e', multiple: true, default: [] },
      profile: { type: 'string', default: 'compare' },
      image: { type: 'string', default: 'rtbench-k6:latest' },
      'servers-image': { type: 'string', default: 'rtbench-servers:latest' },
      influx: { type: 'string', default: 'http://influxdb:8086/k6' },
      testid: { type: 'string' },
      name: { type: 'string' },
      namespace: { type: 'string' },
      network: { type: 'string' },
      'toxiproxy-image': { type: 'string' },
      out: { type: 'string' },
      validate: { type: 'boolean' },
      crd: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return null;
  if (positionals.length !== 1)
    throw new Error(
      positionals.length
        ? `one scenario at a time (got ${positionals.join(', ')})`
        : 'which scenario? (e.g. npm run k8s -- ws-image --parallelism 4)',
    );
  const scenario = positionals[0];
  if (!/^\d+$/.test(values.parallelism))
    throw new Error(`--parallelism '${values.parallelism}': expected a whole number from 1 to 1000`);
  /** @type {Record<string, string>} */
  const settings = { PROFILE: values.profile };
  for (const kv of values.env) {
    const eq = kv.indexOf('=');
    if (eq < 1) throw new Error(`-e '${kv}': expected NAME=VALUE`);
    settings[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const stamp = new Date()
    .toISOString()
    .replace(/[:.]/g, '-')
    .replace(/-\d+Z$/, 'Z');
  if (values.crd && !values.validate) throw new Error('--crd is used with --validate');
  return {
    out: values.out,
    validate: values.validate ? { crd: values.crd } : null,
    options: /** @type {K8sOptions} */ ({
      scenario,
      parallelism: Number(values.parallelism),
      env: settings,
      image: values.image,
      serversImage: values['servers-image'],
      influx: values.influx === 'none' ? null : values.influx,
      testid: values.testid ?? `k8s-${scenario}-${stamp}`,
      name: values.name ?? `rtbench-${scenario}`,
      namespace: values.namespace,
      token: 'TOKEN' in settings || Boolean(env.TOKEN),
      network: values.network,
      toxiproxyImage: values['toxiproxy-image'],
    }),
  };
}

async function main() {
  let cli;
  try {
    cli = parseCli(process.argv.slice(2));
    if (!cli) return console.log(USAGE);
    const docs = manifests(cli.options);
    if (cli.validate) {
      const res = await validate(toYaml(docs), cli.validate);
      for (const r of res.resources)
        console.log(
          `${r.status
            .replace(/^status/, '')
            .toLowerCase()
            .padEnd(8)} ${r.kind}/${r.name}${r.msg ? `: ${r.msg}` : ''}`,
        );
      if (!cli.validate.crd) console.log(`TestRun not checked: give k6-operator's CRD with --crd FILE`);
      process.exit(res.ok ? 0 : 1);
    }
    if (cli.out) {
      mkdirSync(cli.out, { recursive: true });
      writeFileSync(join(cli.out, 'servers.yaml'), toYaml(docs.slice(0, -1)));
      writeFileSync(join(cli.out, 'testrun.yaml'), toYaml(docs.slice(-1)));
      console.error(
        `wrote ${join(cli.out, 'servers.yaml')} and ${join(cli.out, 'testrun.yaml')} (testid ${cli.options.testid})`,
      );
    } else {
      process.stdout.write(toYaml(docs));
    }
    if (cli.options.token)
      console.error(
        `the run reads TOKEN from the Secret '${TOKEN_SECRET}': kubectl create secret generic ${TOKEN_SECRET} --from-literal=TOKEN=…`,
      );
  } catch (err) {
    console.error(`k8s: ${/** @type {Error} */ (err).message}\n\n${USAGE}`);
    process.exit(2);
  }
}

if (import.meta.url.endsWith('/tools/k8s.mjs') && process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`k8s: ${err?.message ?? err}`);
    process.exit(1);
  });
}
