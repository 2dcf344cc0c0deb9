// The comparison under several sets of conditions (npm start -- --network loopback,wan;
// --proxy caddy,none): the lists checked up front, runs grouped by their conditions, the
// per-workload table across the sets with the change against the first, the proxy-cost table,
// the proxy CPU column, and the report's "Under network shapes" section with its chart data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type RunRow, statsByEntry } from '../../tools/report/verdicts.mjs';
import {
  conditionLabel,
  formatProxyCosts,
  formatShapeTable,
  groupByConditions,
  proxyCosts,
  shapeChartData,
  underConditions,
} from '../../tools/report/shapes.mjs';
import { buildReport } from '../../tools/report/html.mjs';
import { formatStatsTable } from '../../tools/report.mjs';
import { eta, parseOptions, tookKey } from '../../tools/start-options.mjs';
import { loadResults } from '../../tools/report/compare.mjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Conditions = { network: string | null; proxy: string | null };
const LOOP: Conditions = { network: null, proxy: null };
const WAN: Conditions = { network: 'wan', proxy: null };

function run(entry: string, repeat: number, conditions: Conditions, figures: Partial<RunRow>): RunRow {
  const blank = {
    msgs: 1000,
    p50: null,
    p90: null,
    p95: null,
    p99: null,
    max: null,
    batch: null,
    msgsPerSec: null,
    mbPerSec: null,
    connect: null,
    trips: null,
    cpuPer1k: null,
    wirePerMsg: null,
  };
  return { run: entry, entry, repeat, failedChecks: 0, exitCode: 0, ...blank, conditions, ...figures } as RunRow;
}

test('--network and --proxy lists: every set of conditions, shapes outermost; bad or repeated names stop', () => {
  const one = parseOptions(['--network', 'wan']);
  assert.deepEqual(one.conditions, { network: 'wan', proxy: null });
  assert.deepEqual(one.conditionSets, [{ network: 'wan', proxy: null }]);
  assert.deepEqual(parseOptions([]).conditionSets, [LOOP]);
  const list = parseOptions(['--network', 'loopback, wan,mobile-lte']);
  assert.deepEqual(list.conditionSets, [LOOP, WAN, { network: 'mobile-lte', proxy: null }]);
  assert.deepEqual(list.conditions, { network: 'loopback, wan,mobile-lte', proxy: null });
  assert.deepEqual(parseOptions(['--network', 'lan,wan', '--proxy', 'caddy,none']).conditionSets, [
    { network: 'lan', proxy: 'caddy' },
    { network: 'lan', proxy: null },
    { network: 'wan', proxy: 'caddy' },
    { network: 'wan', proxy: null },
  ]);
  assert.deepEqual(parseOptions(['--proxy', 'caddy']).conditionSets, [{ network: null, proxy: 'caddy' }]);
  assert.throws(() => parseOptions(['--network', 'loopback,wam,lan']), /unknown network shape 'wam'/);
  assert.throws(() => parseOptions(['--network', 'lan,wan,lan']), /--network: 'lan' is named twice/);
  assert.throws(() => parseOptions(['--network', ',']), /names no shape/);
  assert.throws(() => parseOptions(['--proxy', 'caddy,haproxy']), /unknown proxy 'haproxy'/);
  assert.throws(() => parseOptions(['--proxy', 'none,none']), /'none' is named twice/);
  assert.throws(
    () => parseOptions(['--network', 'lan,loopback', '-e', 'FAULT=reset@1s']),
    /-e FAULT needs a network shape with a proxy .*'loopback' has none/,
  );
  assert.doesNotThrow(() => parseOptions(['--network', 'lan,wan', '-e', 'FAULT=reset@1s']));
});

/** ws-echo and grpc-echo under loopback and wan, two repeats each; sse-feed too. */
function shapedRuns() {
  return [1, 2].flatMap((r) => [
    run('ws-echo', r, LOOP, { p50: 0.1 * r, p95: 0.3, msgsPerSec: 20000 }),
    run('grpc-echo', r, LOOP, { p50: 0.2, p95: 0.5, msgsPerSec: 10000 }),
    run('sse-feed', r, LOOP, { p50: 0.3, p95: 0.6, msgsPerSec: 100 }),
    run('ws-echo', r, WAN, { p50: 42, p95: 44 + r, msgsPerSec: 200 }),
    run('grpc-echo', r, WAN, { p50: 43, p95: 46, msgsPerSec: 190 }),
    run('sse-feed', r, WAN, { p50: 21, p95: 25, msgsPerSec: 100 }),
  ]);
}

test('runs grouped by conditions, in the planned order; a table per workload across the sets', () => {
  const runs = shapedRuns();
  // planned order wins over the order runs appear in; a set with no runs is left out
  const groups = groupByConditions(runs, [WAN, { network: 'lan', proxy: null }, LOOP]);
  assert.deepEqual(
    groups.map((g) => [g.label, g.slug, g.runs.length]),
    [
      ['wan', 'wan', 6],
      ['loopback', 'loopback', 6],
    ],
  );
  assert.equal(conditionLabel({ network: 'mobile-lte', proxy: 'caddy' }), 'mobile-lte via caddy');
  // runs without conditions (older comparison.json) are loopback
  assert.equal(groupByConditions([{ ...runs[0]!, conditions: undefined }])[0]!.label, 'loopback');

  const table = underConditions(groupByConditions(runs, [LOOP, WAN]));
  assert.deepEqual(
    table.sets.map((s) => [s.label, s.runs]),
    [
      ['loopback', 6],
      ['wan', 6],
    ],
  );
  assert.deepEqual(
    table.workloads.map((w) => w.id),
    ['push', 'echo'],
  );
  const echo = table.workloads.find((w) => w.id === 'echo')!;
  assert.deepEqual(
    echo.rows.map((r) => r.label),
    ['WebSocket', 'gRPC bidi'],
  );
  const ws = echo.rows[0]!;
  // p50 under loopback: median of 0.1 and 0.2; under wan 42, so ×280
  assert.ok(Math.abs(ws.figures.p50![0]!.center - 0.15) < 1e-9);
  assert.equal(ws.figures.p50![0]!.ratio, 1);
  assert.ok(Math.abs(ws.figures.p50![1]!.ratio! - 280) < 1e-9);
  assert.ok(Math.abs(ws.figures.p50![1]!.delta! - 41.85) < 1e-9);
  assert.deepEqual(
    { ...ws.figures.p95![1]!, ratio: null, delta: null },
    { center: 45.5, min: 45, max: 46, n: 2, ratio: null, delta: null },
  );
  assert.equal(ws.figures.msgsPerSec![1]!.ratio, 0.01);
  // a paced feed's throughput is not a figure of the push workload
  const push = table.workloads.find((w) => w.id === 'push')!;
  assert.equal(push.rows[0]!.figures.msgsPerSec, undefined);

  const text = formatShapeTable(table);
  assert.match(text, /Under network shapes: .*loopback 6 runs, wan 6 runs.*against loopback/);
  assert.match(text, /echo round trips.*:\n\s+protocol\s+figure\s+loopback\s+wan\n/);
  assert.match(text, /WebSocket\s+p50 ms\s+0\.15\s+42\.0 \(×280\)/);
  assert.match(text, /msgs\/s\s+20,000\s+200 \(×0\.010\)/);
  assert.match(text, /gRPC bidi\s+p50 ms\s+0\.20\s+43\.0 \(×215\)/);
  // an entry missing under a set shows a dash there, and no change
  const partial = underConditions(
    groupByConditions(runs.filter((r) => !(r.entry === 'grpc-echo' && r.conditions?.network))),
  );
  assert.match(formatShapeTable(partial), /gRPC bidi\s+p50 ms\s+0\.20\s+–/);

  const charts = shapeChartData(table);
  const echoChart = charts.find((c) => c.id === 'echo')!;
  assert.deepEqual(echoChart.labels, ['loopback', 'wan']);
  assert.deepEqual(echoChart.latency[0], { label: 'WebSocket p50', dashed: false, values: [0.15000000000000002, 42] });
  assert.deepEqual(echoChart.throughput[1], { label: 'gRPC bidi', values: [10000, 190] });
  assert.deepEqual(charts.find((c) => c.id === 'push')!.throughput, []);
});

test('proxy cost: with and without the proxy under the same shape, for any proxy name', () => {
  const viaX = { network: null, proxy: 'someproxy' };
  const runs = [1, 2, 3].flatMap((r) => [
    run('ws-echo', r, LOOP, { p50: 0.1, p95: 0.2, msgsPerSec: 20000, cpuPer1k: 30 }),
    run('ws-echo', r, viaX, { p50: 0.3, p95: 0.5, msgsPerSec: 12000, cpuPer1k: 32, proxyCpuMs: 400 + r * 100 }),
    run('sse-feed', r, viaX, { p50: 0.4, p95: 0.6, msgsPerSec: 100, cpuPer1k: 50, proxyCpuMs: 0 }),
  ]);
  const groups = groupByConditions(runs);
  const costs = proxyCosts(groups);
  assert.equal(costs.length, 1);
  assert.equal(costs[0]!.proxy, 'someproxy');
  assert.equal(costs[0]!.network, null);
  // sse-feed never ran without the proxy: no cost row for it
  assert.deepEqual(
    costs[0]!.entries.map((e) => e.entry),
    ['ws-echo'],
  );
  const e = costs[0]!.entries[0]!;
  assert.deepEqual(e.without, { p50: 0.1, p95: 0.2, msgsPerSec: 20000, cpuPer1k: 30 });
  assert.deepEqual(e.with, { p50: 0.3, p95: 0.5, msgsPerSec: 12000, cpuPer1k: 32 });
  // 600 ms of proxy CPU (median) for 1,000 messages
  assert.equal(e.proxyCpuPer1k, 600);
  const text = formatProxyCosts(costs);
  assert.match(text, /Proxy cost: someproxy vs no proxy, under loopback/);
  assert.match(
    text,
    /ws-echo\s+0\.10 → 0\.30 \(\+0\.20\)\s+0\.20 → 0\.50 \(\+0\.30\)\s+20,000 → 12,000 \(−8,000\)\s+30 → 32 \(\+2\)\s+600/,
  );
  // only with the proxy: no cost table, but the stats table shows its CPU per message
  assert.deepEqual(proxyCosts(groupByConditions(runs.filter((r) => r.conditions?.proxy))), []);
  const stats = statsByEntry(runs.filter((r) => r.conditions?.proxy));
  const table = formatStatsTable(stats);
  assert.match(table.split('\n')[0]!, /srv CPU ms\/1k\s+proxy CPU ms\/1k\s+wire B\/msg/);
  assert.match(table, /ws-echo .* 600 \[500–700\]/);
  // no proxy: no such column
  assert.doesNotMatch(formatStatsTable(statsByEntry(runs.filter((r) => !r.conditions?.proxy))), /proxy CPU/);
});

test('report: one set of conditions as before; several add "Under network shapes" with a chart per workload', () => {
  const meta = {
    repeats: 2,
    seed: 1,
    command: 'npm start -- --network loopback,wan',
    environment: { machine: 'test box' },
    entries: [{ name: 'ws-echo' }, { name: 'grpc-echo' }, { name: 'sse-feed' }],
  };
  const runs = shapedRuns();
  const single = buildReport({ ...meta, runs: runs.filter((r) => !r.conditions?.network) });
  assert.equal(single.shapes, null);
  assert.equal(single.groups.length, 1);
  assert.ok(!single.html.includes('Under network shapes'));
  assert.deepEqual([...single.stats.keys()], ['ws-echo', 'grpc-echo', 'sse-feed']);

  const multi = buildReport({ ...meta, conditionSets: [LOOP, WAN], runs });
  assert.deepEqual(
    multi.groups.map((g) => g.label),
    ['loopback', 'wan'],
  );
  assert.deepEqual(
    multi.verdicts.map((v) => v.workload.id),
    // push had one entry (sse-feed): no verdict, but it is in the table across the sets
    ['echo--loopback', 'echo--wan'],
  );
  assert.match(multi.verdicts[1]!.workload.title, /echo round trips.*, under wan$/);
  const html = multi.html;
  assert.ok(html.indexOf('id="verdicts"') < html.indexOf('id="shapes"'));
  assert.match(html, /<h2 id="shapes">Under network shapes<\/h2>/);
  for (const id of ['shape-latency-echo', 'shape-throughput-echo', 'shape-latency-push'])
    assert.ok(html.includes(`<canvas id="${id}"`), id);
  // the push workload has no throughput figure, so no throughput chart
  assert.ok(!html.includes('<canvas id="shape-throughput-push"'));
  assert.match(html, /42\.0 <span class="spread">\[42\.0–42\.0\]<\/span> <b>×280<\/b>/);
  // each set's own sections keep apart (ids and the run links of their own set)
  assert.ok(html.includes('id="w-echo--wan"') && html.includes('id="w-echo--loopback"'));
  const data = JSON.parse(/<script id="rtb-data" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!);
  assert.deepEqual(
    data.shapes.map((s: { id: string }) => s.id),
    ['push', 'echo'],
  );
});

test('npm run compare takes a folder of one set of conditions, and names the sets of one that has several', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtbench-shapes-'));
  try {
    writeFileSync(join(dir, 'comparison.json'), JSON.stringify({ runs: shapedRuns() }));
    assert.throws(
      () => loadResults(dir),
      /taken under 2 sets of conditions \(loopback, wan\); compare takes folders of one/,
    );
    writeFileSync(
      join(dir, 'comparison.json'),
      JSON.stringify({ runs: shapedRuns().filter((r) => r.conditions?.network) }),
    );
    assert.equal(loadResults(dir).runs.length, 6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('time left counts every set still to come, each entry at its time under the same set, else under another', () => {
  const echo = { name: 'ws-echo', script: 'ws-echo.js', quick: {} };
  const image = { name: 'ws-image sequential', script: 'ws-image.js', quick: {} };
  const plan = [0, 1, 2].flatMap((set) => [echo, image].map((entry) => ({ entry, set })));
  // nothing ran yet: the planned 10 s + 2 s per run, 6 runs
  assert.equal(eta(plan, new Map(), '10s'), ' · about 1m12s left (estimated)');
  const took = new Map<string, number[]>([
    [tookKey(0, echo), [10]],
    [tookKey(0, image), [20]],
    [tookKey(1, echo), [14]],
  ]);
  // set 1's echo at its own 14 s, set 1's image at set 0's 20 s; set 2's echo at the mean of the
  // other sets' (12 s), its image at 20 s
  assert.equal(eta(plan.slice(2), took, '10s'), ' · about 1m06s left');
  assert.equal(tookKey(2, echo), '2|ws-echo');
});
