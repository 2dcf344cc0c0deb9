#!/usr/bin/env node
// @ts-check
// `npm start`: build what is missing (k6 included), start the servers, run every comparison
// scenario at one load profile, print the side-by-side table, write each run's k6 summary JSON
// under results/, stop the servers, and exit non-zero if any check or threshold failed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './paths.mjs';
import { checksOf, k6Bin, runK6, startServers } from './harness.mjs';
import { comparisonRow, formatTable } from './report.mjs';
import { startInflux } from './influx.mjs';
import { runSegmented } from './segments.mjs';

/**
 * The comparison: each entry is one k6 run. Add a scenario here to put it in the table.
 * @type {Array<{ name: string, script: string, env?: Record<string, string> }>}
 */
export const COMPARISON = [
  { name: 'ws-image sequential', script: 'ws-image.js', env: { MODE: 'sequential' } },
  { name: 'grpc-image sequential', script: 'grpc-image.js', env: { MODE: 'sequential' } },
  { name: 'ws-image concurrent', script: 'ws-image.js', env: { MODE: 'concurrent' } },
  { name: 'grpc-image concurrent', script: 'grpc-image.js', env: { MODE: 'concurrent' } },
  // seed 001: server push, one stream per VU, then one channel fanned out to 10 subscribers per VU
  { name: 'sse-feed', script: 'sse-feed.js', env: { MODE: 'normal' } },
  { name: 'ws-feed', script: 'ws-feed.js', env: { MODE: 'normal' } },
  { name: 'sse-feed fanout', script: 'sse-feed.js', env: { MODE: 'fanout' } },
  { name: 'ws-feed fanout', script: 'ws-feed.js', env: { MODE: 'fanout' } },
  // seed 004: gRPC's four call patterns, COUNT messages of PAYLOAD_BYTES per iteration
  { name: 'grpc-unary', script: 'grpc-unary.js' },
  { name: 'grpc-server-stream', script: 'grpc-server-stream.js' },
  { name: 'grpc-client-stream', script: 'grpc-client-stream.js' },
  { name: 'grpc-bidi pipelined', script: 'grpc-bidi.js', env: { MODE: 'pipelined' } },
  // seed 003: the same CreateOrder and ProcessOrders calls tunnelled through the WebSocket bridge
  { name: 'grpc-over-ws unary', script: 'grpc-over-ws.js', env: { CALL: 'unary' } },
  { name: 'grpc-over-ws bidi pipelined', script: 'grpc-over-ws.js', env: { CALL: 'bidi', MODE: 'pipelined' } },
  // seed 002: echo round trips, the text 'hi', one message in flight, a 5 s window per client
  { name: 'ws-echo', script: 'ws-echo.js', env: { MODE: 'sequential', WINDOW: '5s' } },
  { name: 'socketio-echo', script: 'socketio-echo.js', env: { MODE: 'sequential', WINDOW: '5s' } },
  // seed 002 over gRPC: echo round trips in a 5 s window on one stream
  { name: 'grpc-echo', script: 'grpc-echo.js', env: { MODE: 'sequential' } },
];

const USAGE = `usage: npm start -- [options]
  --profile NAME     load profile for every run (default compare; smoke, compare, load, stress, spike, soak)
  --model M          closed (ramping VUs) or open (arrival rate); default closed
  --duration D       stretch or shrink the profile to this total length, e.g. 20s
  --only A,B         run only the comparison entries whose name contains one of these words
  -e NAME=VALUE      pass a setting to every scenario (e.g. -e IMAGES=50); repeatable
  --out URI          also stream results to a k6 output, e.g. influxdb=http://127.0.0.1:8086/k6
  --influx           stream to InfluxDB: $INFLUX_URL (e.g. http://127.0.0.1:8086/k6) if set, else a
                     local influxd (npm run influx) whose data stays in the results folder
  --results DIR      where to write the run's results (default results/<timestamp>)
  --segments N       run each scenario as N k6 processes split like k6-operator's runners, merged
                     into one row with every threshold evaluated on the merged result
  --help             this text
Runs: ${COMPARISON.map((r) => r.name).join(', ')}`;

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {{ env: Record<string, string>, only: string[], out: string[], influx: boolean, results?: string, segments: number }} */
  const o = { env: { PROFILE: 'compare' }, only: [], out: [], influx: false, segments: 1 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--help' || arg === '-h') { console.log(USAGE); process.exit(0); }
    else if (arg === '--profile') o.env.PROFILE = value();
    else if (arg === '--model') o.env.MODEL = value();
    else if (arg === '--duration') o.env.DURATION = value();
    else if (arg === '--only') o.only = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (arg === '--out') o.out.push(value());
    else if (arg === '--influx') o.influx = true;
    else if (arg === '--results') o.results = value();
    else if (arg === '--segments') {
      const v = value();
      o.segments = Number(v);
      if (!/^\d+$/.test(v) || o.segments < 1 || o.segments > 64) throw new Error(`--segments '${v}': expected a whole number of k6 processes, 1 to 64`);
    }
    else if (arg === '-e' || arg === '--env') {
      const kv = value();
      const eq = kv.indexOf('=');
      if (eq < 1) throw new Error(`-e '${kv}': expected NAME=VALUE`);
      o.env[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else throw new Error(`unknown option '${arg}' (see --help)`);
  }
  return o;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`npm start: ${/** @type {Error} */ (err).message}\n\n${USAGE}`);
    process.exit(2);
  }
  const runs = COMPARISON.filter((r) => opts.only.length === 0 || opts.only.some((w) => r.name.includes(w)));
  if (runs.length === 0) {
    console.error(`npm start: --only ${opts.only.join(',')} matches no run (runs: ${COMPARISON.map((r) => r.name).join(', ')})`);
    process.exit(2);
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/-\d+Z$/, 'Z');
  const resultsDir = opts.results ?? join(root, 'results', stamp);
  mkdirSync(resultsDir, { recursive: true });

  console.log('▶ building scenarios and servers');
  const build = spawnSync(process.execPath, [join(root, 'build.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
  console.log('▶ checking k6');
  const k6 = await k6Bin();
  console.log(`  using ${k6}`);
  // Every k6 run of this comparison carries testid=<stamp> and run=<entry>, so a dashboard
  // selects this comparison and tells its runs apart.
  const testid = stamp;
  /** @type {import('./influx.mjs').Influx | null} */
  let influx = null;
  if (opts.influx && process.env.INFLUX_URL) opts.out.push(`influxdb=${process.env.INFLUX_URL}`);
  else if (opts.influx) {
    console.log('▶ starting InfluxDB');
    influx = await startInflux({ dataDir: join(resultsDir, 'influxdb') });
    opts.out.push(`influxdb=${influx.k6Out}`);
  }
  console.log('▶ starting servers');
  const servers = await startServers().catch(async (err) => {
    await influx?.stop();
    throw err;
  });
  console.log(`  http ${servers.httpUrl}  grpc ${servers.grpcAddr}`);
  if (opts.out.length) console.log(`  streaming to ${opts.out.join(', ')} with testid=${testid}`);
  const stop = async () => {
    await servers.stop();
    await influx?.stop();
  };
  process.on('SIGINT', () => { stop().finally(() => process.exit(130)); });

  const rows = [];
  let failed = 0;
  try {
    for (const [i, run] of runs.entries()) {
      const file = run.name.replace(/\s+/g, '-');
      const dir = join(resultsDir, file);
      mkdirSync(dir, { recursive: true });
      const started = Date.now();
      console.log(`▶ [${i + 1}/${runs.length}] ${run.name} (profile ${opts.env.PROFILE}${opts.env.MODEL ? `, ${opts.env.MODEL} model` : ''})`);
      let lastProgress = 0;
      const cpuBefore = await serverCpuMs(servers.httpUrl);
      const env = { ...servers.env(), ...opts.env, ...(run.env ?? {}) };
      /** @type {Parameters<typeof runK6>[2] & { dir: string }} */
      const k6Opts = {
        dir,
        args: [...opts.out.flatMap((o) => ['--out', o]), '--tag', `testid=${testid}`, '--tag', `run=${file}`],
        onLine: (line) => {
          // k6's own progress line, shown at most every 5 s
          if (/running \(/.test(line) && Date.now() - lastProgress > 5000) {
            lastProgress = Date.now();
            console.log(`    ${line.trim()}`);
          }
        },
      };
      // --segments N (tools/segments.mjs): N k6 processes split like k6-operator's runners, merged.
      const res = opts.segments > 1 ? await runSegmented(run.script, env, { ...k6Opts, segments: opts.segments }) : await runK6(run.script, env, k6Opts);
      writeFileSync(join(dir, 'k6.log'), res.stdout + res.stderr);
      const checks = res.summary ? checksOf(res.summary) : {};
      const failedChecks = Object.values(checks).reduce((n, c) => n + c.fails, 0);
      const ok = res.code === 0 && res.summary !== null && failedChecks === 0;
      if (!ok) failed++;
      const cpuAfter = await serverCpuMs(servers.httpUrl);
      const serverCpu = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
      rows.push(comparisonRow(run.name, res.summary, { exitCode: res.code, failedChecks }, { serverCpuMs: serverCpu }));
      console.log(`  ${ok ? '✓' : '✗'} ${run.name}: k6 exit ${res.code}, ${failedChecks} failed checks, ${((Date.now() - started) / 1000).toFixed(0)} s → ${dir}`);
      if (!ok) console.log(res.stderr.split('\n').filter((l) => /level=error|ERRO|✗/.test(l)).slice(-5).join('\n'));
    }
  } finally {
    await stop();
  }
  const table = formatTable(rows);
  console.log(`\n${table}`);
  writeFileSync(join(resultsDir, 'comparison.txt'), table + '\n');
  writeFileSync(join(resultsDir, 'comparison.json'), JSON.stringify({ settings: opts.env, testid, rows }, null, 2));
  console.log(`\nresults: ${resultsDir}`);
  if (opts.out.length) console.log(`streamed with testid=${testid}`);
  if (influx) console.log(`InfluxDB data kept in ${influx.dir}: \`npm run influx -- --data ${influx.dir}\` serves it again`);
  if (failed) {
    console.error(`${failed} of ${runs.length} runs failed (a check, a threshold or k6 itself): see the k6.log files`);
    process.exit(1);
  }
}

/**
 * The servers' CPU time so far (user + system), ms, from their GET /stats; null if unavailable.
 * @param {string} httpUrl
 */
async function serverCpuMs(httpUrl) {
  try {
    const s = /** @type {{ cpuUserMs: number, cpuSystemMs: number }} */ (await (await fetch(`${httpUrl}/stats`)).json());
    return s.cpuUserMs + s.cpuSystemMs;
  } catch {
    return null;
  }
}

main().catch((err) => {
  console.error(`npm start: ${err?.message ?? err}`);
  process.exit(1);
});
