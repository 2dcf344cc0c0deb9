#!/usr/bin/env node
// @ts-check
// `npm start`: build what is missing (k6 included), start the servers, run every comparison
// entry several times in a seeded random interleaved order, then print each figure's central
// value and spread, a verdict per workload, and write results/<run>/report.html beside every
// run's k6 summary and k6 web-dashboard export. Exits non-zero if any check or threshold failed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { root } from './paths.mjs';
import { checksOf, k6Bin, runK6, startServers } from './harness.mjs';
import { comparisonRow, formatStatsTable } from './report.mjs';
import { startInflux } from './influx.mjs';
import { runSegmented } from './segments.mjs';
import { runOrder } from './report/stats.mjs';
import { METHOD, formatVerdicts } from './report/verdicts.mjs';
import { buildReport, environment } from './report/html.mjs';
import { COMPARISON, USAGE, clock, eta, parseOptions, selectEntries, tookKey } from './start-options.mjs';
import { formatK6VsNative, k6VsNativeFor } from './bench.mjs';
import { conditionSwitcher } from './conditions.mjs';
import { conditionLabel, conditionSlug, formatProxyCosts, formatShapeTable } from './report/shapes.mjs';

/** @param {string} msg @returns {never} */
function usageError(msg) {
  console.error(`npm start: ${msg}\n(see npm start -- --help)`);
  process.exit(2);
}

/** Shell-quotes one argument for the reproduce command. @param {string} a */
const quote = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

async function main() {
  const argv = process.argv.slice(2);
  let opts;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    usageError(/** @type {Error} */ (err).message);
  }
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  if (opts.reportFrom) {
    const file = join(opts.reportFrom, 'comparison.json');
    if (!existsSync(file)) usageError(`--report-from ${opts.reportFrom}: no comparison.json there`);
    const { html, verdicts: list, shapes, proxyCosts } = buildReport(JSON.parse(readFileSync(file, 'utf8')));
    writeFileSync(join(opts.reportFrom, 'report.html'), html);
    const across = [shapes && formatShapeTable(shapes), proxyCosts.length && formatProxyCosts(proxyCosts)];
    console.log(
      [formatVerdicts(list), ...across.filter(Boolean), `report: ${join(opts.reportFrom, 'report.html')}`].join('\n\n'),
    );
    return;
  }
  const entries = selectEntries(opts);
  if (entries.length === 0)
    usageError(`--only ${opts.only.join(',')} matches no entry (entries: ${COMPARISON.map((r) => r.name).join(', ')})`);
  // Under several sets of conditions (--network / --proxy lists) the sets run one after another,
  // each with every entry's repeats in its own random interleaved order (seed, seed + 1, …).
  const sets = opts.conditionSets;
  const multi = sets.length > 1;
  const order = sets.flatMap((conditions, set) =>
    runOrder(entries, opts.repeats, (opts.seed + set) >>> 0).map((o) => ({ ...o, conditions, set })),
  );
  const startedAt = new Date();
  const stamp = startedAt
    .toISOString()
    .replace(/[:.]/g, '-')
    .replace(/-\d+Z$/, 'Z');
  const resultsDir = opts.results ?? join(root, 'results', stamp);
  mkdirSync(resultsDir, { recursive: true });
  const command = [
    'npm',
    'start',
    '--',
    ...argv.map(quote),
    ...(opts.seedGiven ? [] : ['--seed', String(opts.seed)]),
  ].join(' ');

  console.log('▶ building scenarios and servers');
  const build = spawnSync(process.execPath, [join(root, 'build.mjs'), '--quiet'], { stdio: 'inherit' });
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
  // --network / --proxy / -e FAULT (tools/conditions.mjs): k6 → [shape] → [proxy] → servers,
  // one set of them at a time
  const switcher = conditionSwitcher(servers, opts.env.FAULT);
  const stop = async () => {
    await switcher.stop();
    await servers.stop();
    await influx?.stop();
  };
  let conditions = await switcher.use(sets[0]).catch(async (err) => {
    await stop();
    throw err;
  });
  let activeSet = 0;
  if (!multi && conditions.describe()) console.log(`  through ${conditions.describe()}`);
  process.on('SIGINT', () => {
    stop().finally(() => process.exit(130));
  });
  // k6's web dashboard, headless (port -1), exported as HTML at the end of each run; a 1 s
  // aggregation period so that short runs have enough points to export.
  // A K6_WEB_DASHBOARD_PORT of your own (e.g. 5665) lets you watch each run live as well.
  process.env.K6_WEB_DASHBOARD = 'true';
  process.env.K6_WEB_DASHBOARD_PORT ??= '-1';
  process.env.K6_WEB_DASHBOARD_PERIOD ??= '1s';
  process.env.K6_WEB_DASHBOARD_EXPORT = 'dashboard.html';

  console.log(
    `▶ ${order.length} runs: ${entries.length} entries × ${opts.repeats} repeats${multi ? ` × ${sets.length} sets of conditions (${sets.map(conditionLabel).join(', ')})` : ''}, profile ${opts.env.PROFILE}` +
      `${opts.env.DURATION ? ` in ${opts.env.DURATION}` : ''}${opts.env.MODEL ? `, ${opts.env.MODEL} model` : ''}, order seed ${opts.seed}`,
  );
  /** @type {import('./report/verdicts.mjs').RunRow[]} */
  const rows = [];
  /** @type {import('./bench.mjs').SideBySide[]} */
  let sideBySide = [];
  /** @type {Map<string, number[]>} seconds each entry's runs took under each set, for the estimate */
  const took = new Map();
  let failed = 0;
  try {
    for (const [i, { entry, repeat, conditions: set, set: setIndex }] of order.entries()) {
      if (setIndex !== activeSet || (i === 0 && multi)) {
        if (setIndex !== activeSet) conditions = await switcher.use(set);
        activeSet = setIndex;
        console.log(
          `▶ under ${conditionLabel(set)}${conditions.describe() ? `: through ${conditions.describe()}` : ''}`,
        );
      }
      const file = entry.name.replace(/\s+/g, '-');
      // several sets: each set's runs in a folder of its own
      const dir = join(resultsDir, ...(multi ? [conditionSlug(set)] : []), file, `run-${repeat}`);
      mkdirSync(dir, { recursive: true });
      const started = Date.now();
      console.log(
        `▶ [${i + 1}/${order.length}] ${entry.name}, repeat ${repeat}/${opts.repeats}${multi ? `, ${conditionLabel(set)}` : ''}${eta(order.slice(i), took, opts.env.DURATION)}`,
      );
      let lastProgress = 0;
      const cpuBefore = await serverCpuMs(servers.httpUrl);
      const env = { ...conditions.env(), ...entry.runEnv };
      const proxyCpuBefore = conditions.proxyCpuMs();
      /** @type {Parameters<typeof runK6>[2] & { dir: string }} */
      const k6Opts = {
        dir,
        args: [
          ...opts.out.flatMap((o) => ['--out', o]),
          '--tag',
          `testid=${testid}`,
          '--tag',
          `run=${file}`,
          '--tag',
          `repeat=${repeat}`,
          ...conditions.k6Args,
        ],
        onLine: (line) => {
          // k6's own progress line, shown at most every 5 s
          if (/running \(/.test(line) && Date.now() - lastProgress > 5000) {
            lastProgress = Date.now();
            console.log(`    ${line.trim()}`);
          }
        },
      };
      // --segments N (tools/segments.mjs): N k6 processes split like k6-operator's runners, merged;
      // each runner's files (and its dashboard export) are in runner-<i>/ of the run's folder.
      const faulting = conditions.faults();
      const res =
        opts.segments > 1
          ? await runSegmented(entry.script, env, { ...k6Opts, segments: opts.segments })
          : await runK6(entry.script, env, k6Opts);
      await faulting?.stop();
      writeFileSync(join(dir, 'k6.log'), res.stdout + res.stderr);
      const checks = res.summary ? checksOf(res.summary) : {};
      const failedChecks = Object.values(checks).reduce((n, c) => n + c.fails, 0);
      const ok = res.code === 0 && res.summary !== null && failedChecks === 0;
      if (!ok) failed++;
      const cpuAfter = await serverCpuMs(servers.httpUrl);
      const serverCpu = cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore;
      const row = comparisonRow(
        entry.name,
        res.summary,
        { exitCode: res.code, failedChecks },
        { serverCpuMs: serverCpu },
      );
      const dashboard = existsSync(join(dir, 'dashboard.html'))
        ? relative(resultsDir, join(dir, 'dashboard.html'))
        : null;
      rows.push({
        ...row,
        entry: entry.name,
        repeat,
        latencyResolutionMs: entry.wholeMs ? 1 : 0,
        conditions: { ...set },
        // the reverse proxy's own CPU for this run (from /proc), when there is one
        ...(proxyCpuBefore !== null
          ? { proxyCpuMs: (conditions.proxyCpuMs() ?? proxyCpuBefore) - proxyCpuBefore }
          : {}),
        dir: relative(resultsDir, dir),
        dashboard,
      });
      const secs = (Date.now() - started) / 1000;
      took.set(tookKey(setIndex, entry), [...(took.get(tookKey(setIndex, entry)) ?? []), secs]);
      console.log(
        `  ${ok ? '✓' : '✗'} ${entry.name} #${repeat}${multi ? ` (${conditionLabel(set)})` : ''}: k6 exit ${res.code}, ${failedChecks} failed checks, ${secs.toFixed(0)} s`,
      );
      if (!ok)
        console.log(
          res.stderr
            .split('\n')
            .filter((l) => /level=error|ERRO|✗/.test(l))
            .slice(-5)
            .join('\n'),
        );
    }
    // k6 ÷ native (issue 11): the image and echo work again, one VU beside native Node clients (tools/bench.mjs).
    if (opts.native && entries.some((e) => /-(image|echo)\.js$/.test(e.script))) {
      console.log('▶ k6 ÷ native: the image and echo workloads again, one VU against native clients');
      const scripts = entries.map((e) => e.script);
      sideBySide = await k6VsNativeFor(scripts, servers, {
        images: Number(opts.env.IMAGES) || 50,
        repeat: opts.repeats,
      });
    }
  } finally {
    await stop();
  }
  const wallSeconds = (Date.now() - startedAt.getTime()) / 1000;
  const meta = {
    version: 2,
    testid,
    startedAt: startedAt.toISOString(),
    wallSeconds,
    command,
    seed: opts.seed,
    repeats: opts.repeats,
    full: opts.full,
    settings: opts.env,
    conditions: opts.conditions,
    ...(multi ? { conditionSets: sets } : {}),
    environment: environment(k6),
    method: METHOD,
    order: order.map((o) => ({
      entry: o.entry.name,
      repeat: o.repeat,
      ...(multi ? { conditions: o.conditions } : {}),
    })),
    entries: entries.map((e) => ({ name: e.name, script: e.script, env: e.runEnv })),
  };
  // the raw runs first: a report can be rebuilt from them (--report-from)
  writeFileSync(
    join(resultsDir, 'comparison.json'),
    JSON.stringify({ ...meta, runs: rows, k6VsNative: sideBySide }, null, 2),
  );
  const report = buildReport({ ...meta, runs: rows });
  const { html } = report;
  const native = sideBySide.length ? `\n\n${formatK6VsNative(sideBySide)}` : '';
  // one set: its table and verdicts, as always; several: each set's, then the table across them
  // and what a proxy cost where a set also ran without it
  const text = multi
    ? [
        ...report.groups.map(
          (g) =>
            `── under ${g.label} ──\n${formatStatsTable(g.stats)}\n\nVerdicts under ${g.label} (${opts.repeats} runs per entry):\n${formatVerdicts(g.verdicts) || '(no workload had two of its entries)'}`,
        ),
        `Method: ${METHOD}.`,
        report.shapes ? formatShapeTable(report.shapes) : '',
        report.proxyCosts.length ? formatProxyCosts(report.proxyCosts) : '',
      ]
        .filter(Boolean)
        .join('\n\n') + native
    : `${formatStatsTable(report.stats)}\n\nMethod: ${METHOD}.\n\nVerdicts (${opts.repeats} runs per entry):\n${formatVerdicts(report.verdicts)}${native}`;
  console.log(`\n${text}`);
  writeFileSync(join(resultsDir, 'comparison.txt'), `${text}\n`);
  writeFileSync(join(resultsDir, 'report.html'), html);
  console.log(`\nreport: ${join(resultsDir, 'report.html')}\nresults: ${resultsDir} (${clock(wallSeconds)} in all)`);
  console.log(`reproduce: ${command}`);
  if (opts.out.length) console.log(`streamed with testid=${testid}`);
  if (influx)
    console.log(`InfluxDB data kept in ${influx.dir}: \`npm run influx -- --data ${influx.dir}\` serves it again`);
  if (failed) {
    console.error(`${failed} of ${order.length} runs failed (a check, a threshold or k6 itself): see the k6.log files`);
    process.exit(1);
  }
}

/**
 * The servers' CPU time so far (user + system), ms, from their GET /stats; null if unavailable.
 * @param {string} httpUrl
 */
async function serverCpuMs(httpUrl) {
  try {
    const s = /** @type {{ cpuUserMs: number, cpuSystemMs: number }} */ (
      await (await fetch(`${httpUrl}/stats`)).json()
    );
    return s.cpuUserMs + s.cpuSystemMs;
  } catch {
    return null;
  }
}

main().catch((err) => {
  console.error(`npm start: ${err?.message ?? err}`);
  process.exit(1);
});
