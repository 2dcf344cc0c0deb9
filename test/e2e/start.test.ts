// `npm start` end to end, short: builds, starts the servers, runs echo and feed entries twice
// each with the real k6 in a seeded interleaved order, prints verdicts, and writes report.html
// whose verdicts and chart data match the runs' own k6 summaries; then `npm run compare` of the
// run against itself (no regression), against a copy whose runs were made slower, and against a
// real run of the same workload through a slower network (toxiproxy): both regressions, exit 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { k6Bin, root } from '../helpers.ts';
import { median } from '../../tools/report/stats.mjs';

const start = (args: string[], timeout = 420_000) =>
  spawnSync(process.execPath, [join(root, 'tools', 'start.mjs'), ...args], { encoding: 'utf8', timeout });
const compare = (args: string[]) =>
  spawnSync(process.execPath, [join(root, 'tools', 'compare.mjs'), ...args], { encoding: 'utf8', timeout: 60_000 });

type Series = {
  label: string;
  values?: Array<number | null>;
  center?: number;
  // numbers for a bar's spread, one per percentile for a latency band
  min?: number | Array<number | null>;
  max?: number | Array<number | null>;
};
type ChartData = {
  workloads: Array<{
    id: string;
    latency: { labels: string[]; series: Series[] } | null;
    bars: Array<{ key: string; series: Series[] }>;
  }>;
};

test("npm start: repeats, verdicts, a report whose charts hold the runs' numbers, and compare", async () => {
  await k6Bin();
  const results = mkdtempSync(join(tmpdir(), 'rtbench-results-'));
  const res = start([
    '--only',
    'ws-echo,socketio-echo,sse-feed,ws-feed',
    '--repeats',
    '2',
    '--duration',
    '2s',
    '--seed',
    '7',
    '--results',
    results,
  ]);
  assert.equal(res.status, 0, res.stdout + res.stderr);
  const entries = ['ws-echo', 'socketio-echo', 'sse-feed', 'ws-feed', 'sse-feed fanout', 'ws-feed fanout'];
  // progress: entry, repeat, time left; the order is seeded, every entry once per round
  assert.match(res.stdout, /▶ \[1\/12\] [\w -]+, repeat 1\/2 · about \d+s left \(estimated\)/);
  assert.match(res.stdout, /▶ \[12\/12\] [\w -]+, repeat 2\/2 · about \d+s left/);
  // verdicts printed at the end, one block per workload, every criterion with a margin or "no clear difference"
  const verdictsAt = res.stdout.indexOf('Verdicts (2 runs per entry):');
  assert.ok(verdictsAt > 0, res.stdout);
  const printed = res.stdout.slice(verdictsAt);
  for (const title of ['server push, one stream per client', 'fan-out, one channel', 'echo round trips'])
    assert.match(printed, new RegExp(title));
  const criteria = printed
    .split('\n')
    .filter((l) => /^  (p50|p95|p99) latency|^  (throughput|connect time|server CPU|wire bytes):/.test(l));
  assert.ok(criteria.length >= 3 * 5, printed);
  for (const line of criteria)
    assert.match(
      line,
      /: (\S.* wins, [\d.]+× (lower|higher) \([−+][\d.,]+ .+\)|no clear difference \(.+\)|no verdict.*): .+ vs /,
      line,
    );

  const json = JSON.parse(readFileSync(join(results, 'comparison.json'), 'utf8'));
  assert.equal(json.runs.length, 12);
  assert.equal(json.seed, 7);
  assert.match(
    json.command,
    /^npm start -- --only ws-echo,socketio-echo,sse-feed,ws-feed --repeats 2 --duration 2s --seed 7 --results /,
  );
  for (let r = 1; r <= 2; r++)
    assert.deepEqual(
      json.order
        .filter((o: { repeat: number }) => o.repeat === r)
        .map((o: { entry: string }) => o.entry)
        .sort(),
      [...entries].sort(),
    );

  const html = readFileSync(join(results, 'report.html'), 'utf8');
  const data = JSON.parse(
    /<script id="rtb-data" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!,
  ) as ChartData;
  assert.deepEqual(data.workloads.map((w) => w.id).sort(), ['echo', 'fanout', 'push']);
  const labels: Record<string, string> = {
    'ws-echo': 'WebSocket',
    'socketio-echo': 'Socket.IO',
    'sse-feed': 'SSE',
    'ws-feed': 'WebSocket',
    'sse-feed fanout': 'SSE',
    'ws-feed fanout': 'WebSocket',
  };
  const workloadOf: Record<string, string> = {
    'ws-echo': 'echo',
    'socketio-echo': 'echo',
    'sse-feed': 'push',
    'ws-feed': 'push',
    'sse-feed fanout': 'fanout',
    'ws-feed fanout': 'fanout',
  };
  for (const entry of entries) {
    const summaries = [1, 2].map((r) => {
      const dir = join(results, entry.replace(/ /g, '-'), `run-${r}`);
      assert.ok(existsSync(join(dir, 'dashboard.html')), `k6 web-dashboard export for ${entry} #${r}`);
      assert.match(html, new RegExp(`href="${entry.replace(/ /g, '-')}/run-${r}/dashboard\\.html"`));
      return JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
    });
    const w = data.workloads.find((x) => x.id === workloadOf[entry])!;
    // the latency curve: each percentile the median over runs of the summaries' own figure
    const curve = w.latency!.series.find((s) => s.label === labels[entry])!;
    const stats = ['med', 'p(90)', 'p(95)', 'p(99)', 'max'];
    assert.deepEqual(
      curve.values,
      stats.map((st) => median(summaries.map((s) => s.metrics.rtb_latency[st]))),
      `${entry} latency curve`,
    );
    assert.deepEqual(
      curve.min,
      stats.map((st) => Math.min(...summaries.map((s) => s.metrics.rtb_latency[st]))),
      `${entry} latency band, low`,
    );
    assert.deepEqual(
      curve.max,
      stats.map((st) => Math.max(...summaries.map((s) => s.metrics.rtb_latency[st]))),
      `${entry} latency band, high`,
    );
    // bars: connect time and wire bytes per message, with their spread
    const connect = w.bars.find((b) => b.key === 'connect')!.series.find((s) => s.label === labels[entry])!;
    const values = summaries.map((s) => s.metrics.rtb_connect_time.med);
    assert.deepEqual(
      [connect.center, connect.min, connect.max],
      [median(values), Math.min(...values), Math.max(...values)],
      `${entry} connect`,
    );
    const wire = w.bars.find((b) => b.key === 'wirePerMsg')!.series.find((s) => s.label === labels[entry])!;
    const perMsg = summaries.map((s) => {
      const bytes = Object.entries(s.metrics as Record<string, { count?: number }>)
        .filter(([k]) => /^data_(sent|received)\{scenario:/.test(k))
        .reduce((n, [, m]) => n + (m.count ?? 0), 0);
      return bytes / s.metrics.rtb_messages.count;
    });
    assert.ok(Math.abs(wire.center! - median(perMsg)) < 1e-9, `${entry} wire bytes`);
    if (w.id === 'echo') {
      const tput = w.bars.find((b) => b.key === 'msgsPerSec')!.series.find((s) => s.label === labels[entry])!;
      assert.ok(
        Math.abs(tput.center! - median(summaries.map((s) => s.metrics.rtb_messages.rate))) < 1e-9,
        `${entry} throughput`,
      );
    }
  }
  // every workload has its verdict block and its charts in the page; environment and command too
  for (const w of data.workloads) {
    assert.match(html, new RegExp(`<section class="verdict"><h3><a href="#w-${w.id}">`));
    assert.match(html, new RegExp(`<canvas id="latency-${w.id}"`));
    for (const b of w.bars) assert.ok(b.series.length >= 2, `${w.id} ${b.key} has data for both protocols`);
  }
  assert.match(html, /k6 v2\.2\.0/);
  assert.match(html, new RegExp(`Node</th><td>${process.version}`));
  assert.ok(html.includes(json.command.replace(/&/g, '&amp;')));

  // compare: the run against itself
  const same = compare([results, results, '--html', join(results, 'same.html')]);
  assert.equal(same.status, 0, same.stdout + same.stderr);
  assert.match(same.stdout, /no regression beyond 10% \(\d+ figures compared\)/);
  assert.ok(existsSync(join(results, 'same.html')));
  // against a copy of the run whose latencies took three times as long and throughput a third
  const slow = mkdtempSync(join(tmpdir(), 'rtbench-slow-'));
  mkdirSync(slow, { recursive: true });
  const slower = {
    ...json,
    runs: json.runs.map((r: Record<string, number | null>) => ({
      ...r,
      ...Object.fromEntries(
        ['p50', 'p90', 'p95', 'p99', 'max'].map((k) => [k, r[k] === null ? null : (r[k] as number) * 3 + 5]),
      ),
      msgsPerSec: r.msgsPerSec === null ? null : (r.msgsPerSec as number) / 3,
    })),
  };
  writeFileSync(join(slow, 'comparison.json'), JSON.stringify(slower));
  const worse = compare([results, slow]);
  assert.equal(worse.status, 1, worse.stdout + worse.stderr);
  assert.match(worse.stdout, /✗ ws-echo · p50 latency: .* worse, .* — REGRESSION beyond 10%/);
  assert.match(worse.stdout, /\d+ regression\(s\) beyond 10%/);
  assert.match(readFileSync(join(slow, 'compare.html'), 'utf8'), /REGRESSION/);
  // the report can be rebuilt from comparison.json alone
  const rebuilt = start(['--report-from', results], 30_000);
  assert.equal(rebuilt.status, 0, rebuilt.stderr);
  assert.equal(readFileSync(join(results, 'report.html'), 'utf8'), html);
  // kept for a look when anything above failed; gone when all passed
  rmSync(results, { recursive: true, force: true });
  rmSync(slow, { recursive: true, force: true });
});

test('compare: the same workload through a really slower network is a regression (exit 1); the conditions are named', () => {
  // A real slowdown rather than edited numbers: the second run goes through toxiproxy's `lan`
  // shape (1 ms RTT), where a loopback echo round trip takes a fraction of a millisecond.
  const fast = mkdtempSync(join(tmpdir(), 'rtbench-fast-'));
  const slow = mkdtempSync(join(tmpdir(), 'rtbench-lan-'));
  const common = ['--only', 'ws-echo', '--repeats', '2', '--duration', '2s', '--no-native'];
  const a = start([...common, '--results', fast]);
  assert.equal(a.status, 0, a.stdout + a.stderr);
  const b = start([...common, '--network', 'lan', '--results', slow]);
  assert.equal(b.status, 0, b.stdout + b.stderr);
  const same = compare([fast, fast]);
  assert.equal(same.status, 0, same.stdout + same.stderr);
  const worse = compare([fast, slow]);
  assert.equal(worse.status, 1, worse.stdout + worse.stderr);
  assert.match(worse.stdout, /✗ ws-echo · p50 latency: .* worse, .* — REGRESSION beyond 10%/);
  assert.match(worse.stdout, /lan/, 'the differing network is named');
  rmSync(fast, { recursive: true, force: true });
  rmSync(slow, { recursive: true, force: true });
});

test('npm start and compare reject bad options by name', () => {
  const bad = start(['--profiel', 'smoke'], 30_000);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown option '--profiel'/);
  const only = start(['--only', 'carrier-pigeon'], 30_000);
  assert.equal(only.status, 2);
  assert.match(only.stderr, /--only carrier-pigeon matches no entry/);
  const help = start(['--help'], 30_000);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /By default: \d+ entries × 3 repeats/);
  const one = compare(['only-one']);
  assert.equal(one.status, 2);
  assert.match(one.stderr, /expected two results folders, got 1/);
  const missing = compare([join(tmpdir(), 'no-such-run-a'), join(tmpdir(), 'no-such-run-b')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no-such-run-a: no comparison\.json/);
});
