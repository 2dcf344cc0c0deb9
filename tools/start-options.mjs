// @ts-check
// What `npm start` runs: the comparison entries, the default (fast) and --full selections, and
// the command line, parsed with node:util parseArgs. Kept apart from tools/start.mjs so that
// tests check it without starting anything.
import { parseArgs } from 'node:util';
import { checkConditionList } from './conditions.mjs';
import { PROXIES } from './proxy.mjs';
import { knownShapes } from './network.mjs';

/**
 * The comparison: each entry is one k6 scenario with its settings; WORKLOADS in
 * tools/report/verdicts.mjs says which entries race each other. `env` applies always; `quick`
 * is what the default (fast) run changes, or false to leave the entry to --full.
 * `wholeMs`: its latencies and connect times are whole milliseconds (k6 gives gRPC handlers only
 * Date.now()), which verdicts take into account.
 * @typedef {{ name: string, script: string, env?: Record<string, string>, quick: Record<string, string> | false, wholeMs?: boolean }} Entry
 * @type {Entry[]}
 */
export const COMPARISON = [
  // seed 000: 10 images of 533 KB per iteration, one after another or all at once
  { name: 'ws-image sequential', script: 'ws-image.js', env: { MODE: 'sequential' }, quick: {} },
  { name: 'grpc-image sequential', script: 'grpc-image.js', env: { MODE: 'sequential' }, quick: {} },
  { name: 'ws-image concurrent', script: 'ws-image.js', env: { MODE: 'concurrent' }, quick: false },
  { name: 'grpc-image concurrent', script: 'grpc-image.js', env: { MODE: 'concurrent' }, quick: false },
  // seed 001: server push, one stream per VU, then one channel fanned out to 10 subscribers per VU
  { name: 'sse-feed', script: 'sse-feed.js', env: { MODE: 'normal' }, quick: { WINDOW: '3s' } },
  { name: 'ws-feed', script: 'ws-feed.js', env: { MODE: 'normal' }, quick: { WINDOW: '3s' } },
  { name: 'socketio-feed', script: 'socketio-feed.js', env: { MODE: 'normal' }, quick: false },
  { name: 'sse-feed fanout', script: 'sse-feed.js', env: { MODE: 'fanout' }, quick: { WINDOW: '3s' } },
  { name: 'ws-feed fanout', script: 'ws-feed.js', env: { MODE: 'fanout' }, quick: { WINDOW: '3s' } },
  // seed 004: gRPC's four call patterns, COUNT messages of PAYLOAD_BYTES per iteration
  { name: 'grpc-unary', script: 'grpc-unary.js', quick: {} },
  { name: 'grpc-server-stream', script: 'grpc-server-stream.js', quick: false },
  { name: 'grpc-client-stream', script: 'grpc-client-stream.js', quick: false },
  { name: 'grpc-bidi pipelined', script: 'grpc-bidi.js', env: { MODE: 'pipelined' }, quick: {} },
  // seed 003: the same CreateOrder and ProcessOrders calls tunnelled through the WebSocket bridge
  { name: 'grpc-over-ws unary', script: 'grpc-over-ws.js', env: { CALL: 'unary' }, quick: {} },
  {
    name: 'grpc-over-ws bidi pipelined',
    script: 'grpc-over-ws.js',
    env: { CALL: 'bidi', MODE: 'pipelined' },
    quick: {},
  },
  // seed 002: echo round trips, the text 'hi', one message in flight, a 5 s window per client
  { name: 'ws-echo', script: 'ws-echo.js', env: { MODE: 'sequential', WINDOW: '5s' }, quick: { WINDOW: '2s' } },
  {
    name: 'socketio-echo',
    script: 'socketio-echo.js',
    env: { MODE: 'sequential', WINDOW: '5s' },
    quick: { WINDOW: '2s' },
  },
  // seed 002 over gRPC: echo round trips in a window on one stream
  { name: 'grpc-echo', script: 'grpc-echo.js', env: { MODE: 'sequential' }, quick: { WINDOW: '2s' } },
];

/** The default run's length per k6 run (the compare profile's shape squeezed to fit). */
export const QUICK_DURATION = '4s';
export const DEFAULT_REPEATS = 3;
export const quickEntries = COMPARISON.filter((e) => e.quick !== false);

export const USAGE = `usage: npm start -- [options]

By default: ${quickEntries.length} entries × ${DEFAULT_REPEATS} repeats, each k6 run the compare profile squeezed into
${QUICK_DURATION} (echo windows 2 s, feed windows 3 s), in a random interleaved order, then the k6 ÷ native step:
about 4–4½ minutes on a 2-core machine once k6 is built (4 min 16 s measured; --no-native skips that step).
--full runs all ${COMPARISON.length} entries at the compare profile as is (30 s each, echo windows 5 s, feed windows 10 s):
about ${Math.round((COMPARISON.length * DEFAULT_REPEATS * 34) / 60)} minutes with 3 repeats.

  --full             every entry at the full compare profile (see above)
  --repeats N        runs per entry (default ${DEFAULT_REPEATS}; at least 2 for a verdict)
  --seed N           seed of the random run order (default: random, printed, and in the report)
  --profile NAME     load profile for every run (default compare; smoke, compare, load, stress, spike, soak)
  --model M          closed (ramping VUs) or open (arrival rate); default closed
  --duration D       stretch or shrink the profile to this total length per run, e.g. 20s
                     (default ${QUICK_DURATION}, or the profile's own length with --full)
  --only A,B         run only the entries whose name contains one of these words
  -e NAME=VALUE      pass a setting to every scenario (e.g. -e IMAGES=50); repeatable
  --out URI          also stream results to a k6 output, e.g. influxdb=http://127.0.0.1:8086/k6
  --influx           stream to InfluxDB: $INFLUX_URL (e.g. http://127.0.0.1:8086/k6) if set, else a
                     local influxd (npm run influx) whose data stays in the results folder
  --results DIR      where to write the run's results (default results/<timestamp>)
  --no-native        skip k6 ÷ native: the image and echo work once more with native Node clients
  --segments N       run each scenario as N k6 processes split like k6-operator's runners, merged
                     into one result with every threshold evaluated on the merged result
  --report-from DIR  run nothing: rebuild DIR/report.html from DIR/comparison.json
  --network SHAPES   every run through this network shape (toxiproxy between k6 and the servers):
                     ${Object.keys(knownShapes()).join(', ')}; with shapes, -e FAULT=outage@5s:2s,reset@9s
                     is applied to the network during each run. A comma-separated list (loopback
                     allowed), e.g. loopback,wan,mobile-lte, runs the whole comparison under each
                     shape in turn (servers started once; repeats and the random order within each
                     shape) and prints per workload how each protocol's p50, p95 and msgs/s change
                     from the first shape (also in comparison.txt and report.html)
  --proxy NAMES      every run through this reverse proxy in front of the servers (${PROXIES.join(', ')};
                     nginx is an optional extra, the system package nginx); the table gains the proxy's own CPU per 1,000 messages. A list with none, e.g.
                     caddy,none, runs everything with and then without the proxy (under each
                     shape) and prints what the proxy adds per entry: latency, throughput, CPU
  -h, --help         this text

Writes DIR/report.html (verdicts, charts, environment; opens offline), DIR/comparison.json and
.txt, and per run DIR/<entry>/run-<n>/ with k6's summary.json, dashboard.html (k6's web-dashboard
export) and k6.log. \`npm run compare -- DIR_A DIR_B\` compares two runs.
Entries (* = in the default run): ${COMPARISON.map((r) => `${r.name}${r.quick === false ? '' : '*'}`).join(', ')}`;

/**
 * The options, checked; every error names the bad flag or value.
 * @param {string[]} argv
 */
export function parseOptions(argv) {
  /** @type {ReturnType<typeof parseArgs>} */
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        full: { type: 'boolean', default: false },
        repeats: { type: 'string' },
        seed: { type: 'string' },
        profile: { type: 'string', default: 'compare' },
        model: { type: 'string' },
        duration: { type: 'string' },
        only: { type: 'string' },
        env: { type: 'string', short: 'e', multiple: true, default: [] },
        out: { type: 'string', multiple: true, default: [] },
        influx: { type: 'boolean', default: false },
        results: { type: 'string' },
        'report-from': { type: 'string' },
        'no-native': { type: 'boolean', default: false },
        segments: { type: 'string' },
        network: { type: 'string' },
        proxy: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    const e = /** @type {Error & { code?: string }} */ (err);
    // node's messages name the flag ("Unknown option '--profiel'"); keep them, in our words
    const unknown = /Unknown option '([^']+)'/.exec(e.message);
    throw new Error(unknown ? `unknown option '${unknown[1]}'` : e.message.split('\n')[0]);
  }
  const v = /** @type {any} */ (parsed.values);
  const count = (
    /** @type {string} */ name,
    /** @type {string | undefined} */ raw,
    /** @type {number} */ dflt,
    min = 1,
    max = 1000,
  ) => {
    if (raw === undefined) return dflt;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
      throw new Error(`--${name} '${raw}': expected a whole number from ${min} to ${max}`);
    return Number(raw);
  };
  /** @type {Record<string, string>} */
  const env = { PROFILE: v.profile };
  if (v.model) env.MODEL = v.model;
  if (v.duration) env.DURATION = v.duration;
  else if (!v.full) env.DURATION = QUICK_DURATION;
  for (const kv of v.env) {
    const eq = kv.indexOf('=');
    if (eq < 1) throw new Error(`-e '${kv}': expected NAME=VALUE`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  /** @type {string[]} */
  const only = (v.only ?? '')
    .split(',')
    .map((/** @type {string} */ s) => s.trim())
    .filter(Boolean);
  const sets = checkConditionList({ network: v.network, proxy: v.proxy, fault: env.FAULT });
  return {
    help: /** @type {boolean} */ (v.help),
    full: /** @type {boolean} */ (v.full),
    repeats: count('repeats', v.repeats, DEFAULT_REPEATS),
    seed: count('seed', v.seed, Math.floor(Math.random() * 1e9), 0, 2 ** 32 - 1),
    seedGiven: v.seed !== undefined,
    env,
    only,
    out: /** @type {string[]} */ ([...v.out]),
    influx: /** @type {boolean} */ (v.influx),
    results: /** @type {string | undefined} */ (v.results),
    reportFrom: /** @type {string | undefined} */ (v['report-from']),
    native: !v['no-native'],
    segments: v.segments === undefined ? 1 : segmentCount(v.segments),
    /**
     * Conditions every run goes through, shown beside every figure: the network and proxy
     * options fill these in (null: loopback, no proxy); with lists, the lists as given.
     * @type {{ network: string | null, proxy: string | null }}
     */
    conditions: sets.length === 1 ? sets[0] : { network: v.network ?? null, proxy: v.proxy ?? null },
    /**
     * Every set of conditions the run goes through, one after another (--network and --proxy
     * lists: shapes outermost); one set unless a list was given.
     */
    conditionSets: sets,
  };
}

/** @param {string} raw */
function segmentCount(raw) {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 64) {
    throw new Error(`--segments '${raw}': expected a whole number of k6 processes, 1 to 64`);
  }
  return Number(raw);
}

/** The entries a run takes, with the settings for each. @param {ReturnType<typeof parseOptions>} opts */
export function selectEntries(opts) {
  const pool = opts.full || opts.only.length ? COMPARISON : quickEntries;
  return pool
    .filter((r) => opts.only.length === 0 || opts.only.some((w) => r.name.includes(w)))
    .map((r) => ({
      ...r,
      runEnv: { ...opts.env, ...(r.env ?? {}), ...(opts.full || r.quick === false ? {} : r.quick), ...userEnv(opts) },
    }));
}

/** -e settings win over an entry's own. @param {ReturnType<typeof parseOptions>} opts */
function userEnv(opts) {
  const keep = Object.entries(opts.env).filter(([k]) => !['PROFILE', 'MODEL', 'DURATION'].includes(k));
  return Object.fromEntries(keep);
}

/** "3m05s", "42s" @param {number} s */
export const clock = (s) =>
  s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;

/**
 * "· about 3m10s left": the runs still to go (under every set of conditions still to come), each at
 * its entry's mean so far under the same set, else its mean under the other sets, else the mean of
 * all runs so far, else the planned duration plus a few seconds of k6 start-up.
 * @param {Array<{ entry: Entry, set: number }>} remaining @param {Map<string, number[]>} took @param {string | undefined} duration
 */
export function eta(remaining, took, duration) {
  const all = [...took.values()].flat();
  const planned = duration ? Number(/^(\d+)s$/.exec(duration)?.[1] ?? 30) + 2 : 34;
  const mean = (/** @type {number[]} */ xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const guess = all.length ? mean(all) : planned;
  const left = remaining.reduce((s, { entry, set }) => {
    const same = took.get(tookKey(set, entry));
    const elsewhere = [...took.entries()].filter(([k]) => k.endsWith(`|${entry.name}`)).flatMap(([, v]) => v);
    return s + (same ? mean(same) : elsewhere.length ? mean(elsewhere) : guess);
  }, 0);
  return ` · about ${clock(left)} left${all.length ? '' : ' (estimated)'}`;
}

/** @param {number} set @param {{ name: string }} entry */
export const tookKey = (set, entry) => `${set}|${entry.name}`;
