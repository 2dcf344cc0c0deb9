// @ts-check
// The merge of tools/merge.mjs on what the runners streamed to InfluxDB (k6 --out influxdb), as
// k6-operator's runners do: every sample of one testid, split into runners by k6-operator's
// `instance_id` tag (npm start --segments N sets it too). InfluxDB keeps samples, not metric
// types or thresholds, so
//   types come from k6's built-in metrics and the scripts' own metric definitions (new Trend('…')),
//   thresholds come from the scenario itself: `k6 inspect` with the settings the runners had,
//   each runner's length is the span of its samples.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { influxQuery } from './influx.mjs';
import { ensureK6 } from './k6.mjs';
import { dist, root } from './paths.mjs';

/** k6's own metrics by type (k6 docs, "Built-in metrics"). */
const K6_BUILT_IN = {
  counter: [
    'iterations',
    'dropped_iterations',
    'data_sent',
    'data_received',
    'http_reqs',
    'ws_msgs_sent',
    'ws_msgs_received',
    'ws_sessions',
    'grpc_streams',
    'grpc_streams_msgs_sent',
    'grpc_streams_msgs_received',
  ],
  gauge: ['vus', 'vus_max'],
  rate: ['checks', 'http_req_failed'],
  trend: [
    'iteration_duration',
    'http_req_duration',
    'http_req_blocked',
    'http_req_connecting',
    'http_req_tls_handshaking',
    'http_req_sending',
    'http_req_waiting',
    'http_req_receiving',
    'ws_connecting',
    'ws_session_duration',
    'ws_ping',
    'grpc_req_duration',
  ],
};

/** @param {string} dir @returns {string[]} */
const tsFiles = (dir) =>
  readdirSync(dir).flatMap((n) =>
    statSync(join(dir, n)).isDirectory() ? tsFiles(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : [],
  );

/** Metric name → type: k6's built-ins and every `new Counter|Gauge|Rate|Trend('name'…)` under scripts/. */
export function metricTypes() {
  /** @type {Map<string, string>} */
  const types = new Map();
  for (const [type, names] of Object.entries(K6_BUILT_IN)) for (const n of names) types.set(n, type);
  for (const file of tsFiles(join(root, 'scripts'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/new (Counter|Gauge|Rate|Trend)\(\s*['"]([^'"]+)['"]/g))
      types.set(m[2], m[1].toLowerCase());
  }
  return types;
}

/**
 * The scenario's thresholds as k6 resolves them for these settings (`k6 inspect`).
 * @param {string} scenario e.g. ws-image @param {Record<string, string>} env
 * @returns {Promise<Record<string, string[]>>}
 */
export async function scenarioThresholds(scenario, env) {
  const script = join(dist, `${scenario}.js`);
  if (!existsSync(script)) throw new Error(`no ${script}: is '${scenario}' a scenario, and has \`npm run build\` run?`);
  const k6 = await ensureK6();
  const res = spawnSync(k6, ['inspect', ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), script], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (res.status !== 0) throw new Error(`k6 inspect ${scenario}: ${res.stderr.trim() || res.error?.message}`);
  const thresholds = JSON.parse(res.stdout).thresholds ?? {};
  // k6 may give a threshold as { threshold, abortOnFail }: the expression is what is judged here.
  return Object.fromEntries(
    Object.entries(thresholds).map(([k, v]) => [
      k,
      /** @type {any[]} */ (v).map((t) => (typeof t === 'string' ? t : t.threshold)),
    ]),
  );
}

/** @param {string} s */
const quote = (s) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * Reads every sample of `testid` (optionally one `run`) from InfluxDB, one runner per instance_id.
 * @param {{ url: string, db: string, testid: string, run?: string }} o url: http://host:8086
 * @returns {Promise<import('./merge.mjs').Runner[]>}
 */
export async function readInfluxRunners({ url, db, testid, run }) {
  const where = `"testid" = ${quote(testid)}${run ? ` AND "run" = ${quote(run)}` : ''}`;
  const [shown] = await influxQuery(url, `SHOW MEASUREMENTS WHERE ${where}`, db);
  const measurements = (shown?.series?.[0]?.values ?? []).map((v) => String(v[0]));
  if (measurements.length === 0)
    throw new Error(`no samples with testid=${testid}${run ? ` and run=${run}` : ''} in ${url} database ${db}`);
  const types = metricTypes();
  /** @type {Map<string, Map<string, import('./merge.mjs').MetricSamples>>} instance → metric → samples */
  const byInstance = new Map();
  for (const name of measurements) {
    const type = types.get(name);
    if (!type) continue; // not a metric rtbench knows the type of: left out of the merge
    const [tagKeys] = await influxQuery(url, `SHOW TAG KEYS FROM "${name}"`, db);
    const tagSet = new Set((tagKeys?.series?.[0]?.values ?? []).map((v) => String(v[0])));
    const [res] = await influxQuery(url, `SELECT * FROM "${name}" WHERE ${where}`, db);
    const s = res?.series?.[0];
    if (!s) continue;
    const col = (/** @type {string} */ c) => s.columns.indexOf(c);
    const [iTime, iValue] = [col('time'), col('value')];
    const tagCols = s.columns.map((c, i) => [c, i]).filter(([c]) => tagSet.has(/** @type {string} */ (c)));
    for (const row of s.values) {
      /** @type {Record<string, string>} */
      const tags = {};
      for (const [c, i] of tagCols)
        if (row[/** @type {number} */ (i)] !== null && row[/** @type {number} */ (i)] !== '')
          tags[/** @type {string} */ (c)] = String(row[/** @type {number} */ (i)]);
      const instance = tags.instance_id ?? '';
      let metrics = byInstance.get(instance);
      if (!metrics) byInstance.set(instance, (metrics = new Map()));
      let m = metrics.get(name);
      if (!m) metrics.set(name, (m = { type, contains: 'default', samples: [] }));
      m.samples.push({ t: Number(row[iTime]), v: Number(row[iValue]), tags });
    }
  }
  return [...byInstance.keys()].sort().map((instance) => {
    const metrics = /** @type {Map<string, import('./merge.mjs').MetricSamples>} */ (byInstance.get(instance));
    // k6 samples vus while a runner waits paused: its length is the span of its other samples.
    let [first, last] = [Infinity, -Infinity];
    for (const [name, m] of metrics) {
      if (name === 'vus' || name === 'vus_max') continue;
      for (const x of m.samples) [first, last] = [Math.min(first, x.t), Math.max(last, x.t)];
    }
    return { summary: null, metrics, durationMs: last > first ? last - first : null };
  });
}
