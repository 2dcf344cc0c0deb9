// @ts-check
// Validating the generated manifests with a real validator, offline: kubeconform (pinned in
// tools/go/kubeconform/go.mod, built from the Go module proxy) against JSON schemas made here
// from published sources, never from files kept in this repo:
//   Deployment, Service (and any built-in kind): the Kubernetes API's own OpenAPI v3 document,
//     api/openapi-spec/v3 of the k8s.io/kubernetes module at a pinned version and checksum,
//     fetched with `go mod download` into Go's module cache;
//   TestRun: k6-operator's CRD (config/crd/bases/k6.io_testruns.yaml in its repository), given as
//     a file, because the Go module proxy does not serve github.com/grafana/k6-operator.
// Schemas are strict like kubeconform's "-strict" sets: an object with listed properties takes no
// others (unless it says x-kubernetes-preserve-unknown-fields), so a misspelt field fails.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { cacheDir, goTool } from './k6.mjs';

/** The Kubernetes release whose published API schemas the manifests are checked against. */
export const KUBERNETES_MODULE = 'k8s.io/kubernetes';
export const KUBERNETES_VERSION = 'v1.34.4';
/** go.sum's hash of that module's zip: the download is refused if it differs. */
export const KUBERNETES_SUM = 'h1:Yy6R4QB8C9kJPp25GFqEvX5XQwY5qzKeqD0Xx6oAcmk=';

/** Bump when the conversion below changes, so cached schemas are made again. */
const SCHEMA_FORMAT = 2;

/** Built-in kinds we generate: schema file name (kubeconform's {{.ResourceKind}}{{.KindSuffix}}) → OpenAPI file and definition. */
const BUILT_IN = {
  'deployment-apps-v1': {
    spec: 'apis__apps__v1_openapi.json',
    def: 'io.k8s.api.apps.v1.Deployment',
    apiVersion: 'apps/v1',
    kind: 'Deployment',
  },
  'service-v1': { spec: 'api__v1_openapi.json', def: 'io.k8s.api.core.v1.Service', apiVersion: 'v1', kind: 'Service' },
  'pod-v1': { spec: 'api__v1_openapi.json', def: 'io.k8s.api.core.v1.Pod', apiVersion: 'v1', kind: 'Pod' },
  'configmap-v1': {
    spec: 'api__v1_openapi.json',
    def: 'io.k8s.api.core.v1.ConfigMap',
    apiVersion: 'v1',
    kind: 'ConfigMap',
  },
};

/** The Kubernetes OpenAPI v3 folder from the pinned module, downloaded once into Go's module cache. */
export function kubernetesOpenApiDir() {
  const res = spawnSync('go', ['mod', 'download', '-json', `${KUBERNETES_MODULE}@${KUBERNETES_VERSION}`], {
    cwd: tmpdir(),
    encoding: 'utf8',
    env: { ...process.env, GOFLAGS: '-mod=mod', GO111MODULE: 'on' },
    timeout: 600_000,
  });
  if (res.error) throw new Error(`go mod download ${KUBERNETES_MODULE}: ${res.error.message} (needs Go on PATH)`);
  let info;
  try {
    info = JSON.parse(res.stdout);
  } catch {
    throw new Error(`go mod download ${KUBERNETES_MODULE}@${KUBERNETES_VERSION} failed: ${res.stderr || res.stdout}`);
  }
  if (info.Error) throw new Error(`go mod download ${KUBERNETES_MODULE}@${KUBERNETES_VERSION}: ${info.Error}`);
  if (info.Sum !== KUBERNETES_SUM)
    throw new Error(`${KUBERNETES_MODULE}@${KUBERNETES_VERSION}: checksum ${info.Sum}, expected ${KUBERNETES_SUM}`);
  const dir = join(info.Dir, 'api', 'openapi-spec', 'v3');
  if (!existsSync(dir)) throw new Error(`${info.Dir} has no api/openapi-spec/v3`);
  return dir;
}

/**
 * Makes every object schema that lists its properties closed to others, recursively.
 * @param {any} s @returns {any}
 */
export function strict(s) {
  if (Array.isArray(s)) return s.map(strict);
  if (!s || typeof s !== 'object') return s;
  /** @type {Record<string, any>} */
  const out = {};
  for (const [k, v] of Object.entries(s))
    out[k] =
      k === 'properties' || k === 'definitions'
        ? Object.fromEntries(Object.entries(v).map(([p, ps]) => [p, strict(ps)]))
        : strict(v);
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields'])
    out.additionalProperties = false;
  return out;
}

/** @param {any} body @param {string} apiVersion @param {string} kind */
function withKind(body, apiVersion, kind) {
  return {
    ...body,
    properties: {
      ...body.properties,
      apiVersion: { type: 'string', enum: [apiVersion] },
      kind: { type: 'string', enum: [kind] },
    },
    required: [...new Set([...(body.required ?? []), 'apiVersion', 'kind'])],
  };
}

/**
 * A standalone JSON schema for one definition of a Kubernetes OpenAPI v3 document: the
 * definition at the top, every component it may refer to under `definitions`.
 * @param {any} openapi @param {string} def @param {string} apiVersion @param {string} kind
 */
export function schemaFromOpenApi(openapi, def, apiVersion, kind) {
  const components = openapi?.components?.schemas ?? {};
  if (!components[def]) throw new Error(`the OpenAPI document has no ${def}`);
  const text = JSON.stringify(components).replaceAll('"#/components/schemas/', '"#/definitions/');
  const definitions = strict(JSON.parse(text));
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    ...withKind(definitions[def], apiVersion, kind),
    definitions,
  };
}

/**
 * The JSON schema of a CRD's version, from its CustomResourceDefinition YAML.
 * @param {string} crdYaml @param {string} kind @param {string} version
 */
export function schemaFromCrd(crdYaml, kind, version) {
  const docs = parseAllDocuments(crdYaml).map((d) => d.toJS());
  const crd = docs.find((d) => d?.kind === 'CustomResourceDefinition' && d.spec?.names?.kind === kind);
  if (!crd) throw new Error(`no CustomResourceDefinition of kind ${kind} in the file`);
  const v = crd.spec.versions?.find((/** @type {any} */ x) => x.name === version);
  const schema = v?.schema?.openAPIV3Schema;
  if (!schema) throw new Error(`the ${kind} CRD has no openAPIV3Schema for ${version}`);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    ...withKind(strict(schema), `${crd.spec.group}/${version}`, kind),
  };
}

/**
 * Writes the schemas into a folder kubeconform reads with the template
 * DIR/{{.ResourceKind}}{{.KindSuffix}}.json, cached per Kubernetes version.
 * @param {{ crd?: string }} [o] crd: path of k6-operator's TestRun CRD YAML
 */
export function schemaDir({ crd } = {}) {
  const dir = join(cacheDir(), `k8s-schemas-${KUBERNETES_VERSION}-${SCHEMA_FORMAT}`);
  mkdirSync(dir, { recursive: true });
  /** @type {Map<string, any>} */
  const specs = new Map();
  for (const [file, b] of Object.entries(BUILT_IN)) {
    const path = join(dir, `${file}.json`);
    if (existsSync(path)) continue;
    if (!specs.has(b.spec)) specs.set(b.spec, JSON.parse(readFileSync(join(kubernetesOpenApiDir(), b.spec), 'utf8')));
    writeFileSync(path, JSON.stringify(schemaFromOpenApi(specs.get(b.spec), b.def, b.apiVersion, b.kind)));
  }
  if (!crd) return dir;
  // The CRD varies with the file given: its schema goes into a folder of its own beside the built-ins.
  const withCrd = mkdtempSync(join(tmpdir(), 'rtbench-schemas-'));
  for (const file of Object.keys(BUILT_IN))
    writeFileSync(join(withCrd, `${file}.json`), readFileSync(join(dir, `${file}.json`)));
  writeFileSync(
    join(withCrd, 'testrun-k6-v1alpha1.json'),
    JSON.stringify(schemaFromCrd(readFileSync(crd, 'utf8'), 'TestRun', 'v1alpha1')),
  );
  return withCrd;
}

/**
 * @typedef {{ filename: string, kind: string, name: string, version: string, status: string, msg: string }} Resource
 */

/**
 * Runs kubeconform -strict on YAML documents. Kinds without a schema here (TestRun without
 * `crd`) come back with status 'statusSkipped', never as valid.
 * @param {string} yamlText @param {{ crd?: string, log?: (s: string) => void }} [o]
 * @returns {Promise<{ ok: boolean, resources: Resource[], output: string }>}
 */
export async function validate(yamlText, { crd, log } = {}) {
  const bin = await goTool('github.com/yannh/kubeconform/cmd/kubeconform', { dir: 'tools/go/kubeconform', log });
  const dir = schemaDir({ crd });
  const args = [
    '-strict',
    '-output',
    'json',
    '-verbose',
    '-schema-location',
    `${dir}/{{.ResourceKind}}{{.KindSuffix}}.json`,
  ];
  if (!crd) args.push('-skip', 'TestRun');
  const proc = spawn(bin, [...args, '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (err += d));
  proc.stdin.end(yamlText);
  const code = await new Promise((resolve) => proc.on('close', resolve));
  if (crd) rmSync(dir, { recursive: true, force: true });
  let parsed;
  try {
    parsed = JSON.parse(out);
  } catch {
    throw new Error(`kubeconform exited ${code} without a JSON report:\n${out}${err}`);
  }
  return { ok: code === 0, resources: parsed.resources ?? [], output: out + err };
}
