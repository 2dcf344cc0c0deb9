// The arithmetic behind npm start's figures and verdicts and npm run compare: medians and
// spreads, overlap, margins, the seeded run order, verdicts (incl. generator-bound rows and
// whole-ms clocks), the regression rule, the CLI options, and the report page's data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { margin, median, overlaps, rng, runOrder, spread } from '../../tools/report/stats.mjs';
import {
  FIGURES,
  WORKLOADS,
  entryStats,
  judge,
  statsByEntry,
  verdicts,
  type RunRow,
} from '../../tools/report/verdicts.mjs';
import { compareResults } from '../../tools/report/compare.mjs';
import { formatStatsTable } from '../../tools/report.mjs';
import { chartData, reportHtml } from '../../tools/report/html.mjs';
import { COMPARISON, parseOptions, selectEntries } from '../../tools/start-options.mjs';
import { parseOptions as parseCompareOptions } from '../../tools/report/compare-options.mjs';

const figure = (key: string) => FIGURES.find((f) => f.key === key)!;

/** A run row with the given figures; the rest null. */
function run(
  entry: string,
  repeat: number,
  figures: Partial<Record<string, number>>,
  extra: Partial<RunRow> = {},
): RunRow {
  const blank = {
    msgs: 100,
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
  return { run: entry, entry, repeat, failedChecks: 0, exitCode: 0, ...blank, ...figures, ...extra } as RunRow;
}

test('median, spread and overlap', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), /no values/);
  assert.deepEqual(spread([5, null, 1, 3]), { center: 3, min: 1, max: 5, n: 3, values: [5, 1, 3] });
  assert.equal(spread([null, undefined, NaN]), null);
  const a = spread([1, 2, 3])!;
  assert.equal(overlaps(a, spread([3, 4])!), true, 'touching ends overlap');
  assert.equal(overlaps(a, spread([3.5, 4])!), false);
  assert.equal(overlaps(spread([3.5, 4])!, a), false);
});

test('margin: ratio of worse to better, absolute difference, for either direction', () => {
  const fast = spread([1, 2, 3])!; // center 2
  const slow = spread([5, 6, 7])!; // center 6
  assert.deepEqual(margin(fast, slow, 'lower'), { ratio: 3, abs: 4 });
  assert.deepEqual(margin(slow, fast, 'higher'), { ratio: 3, abs: 4 });
  assert.equal(margin(spread([0])!, slow, 'lower').ratio, Infinity);
  assert.equal(margin(spread([0])!, spread([0])!, 'lower').ratio, 1);
});

test('run order: every entry once per round, reproducible from the seed, different across seeds', () => {
  const entries = ['a', 'b', 'c', 'd', 'e', 'f'];
  const order = runOrder(entries, 3, 42);
  assert.equal(order.length, 18);
  for (let r = 1; r <= 3; r++) {
    const round = order.filter((o) => o.repeat === r).map((o) => o.entry);
    assert.deepEqual([...round].sort(), entries, `round ${r} holds every entry once`);
  }
  assert.deepEqual(runOrder(entries, 3, 42), order);
  const other = runOrder(entries, 3, 43);
  assert.notDeepEqual(
    other.map((o) => o.entry),
    order.map((o) => o.entry),
  );
  // rounds are shuffled, not all the same order
  const rounds = [1, 2, 3].map((r) =>
    order
      .filter((o) => o.repeat === r)
      .map((o) => o.entry)
      .join(),
  );
  assert.ok(new Set(rounds).size > 1, `rounds differ: ${rounds.join(' | ')}`);
  const r = rng(7);
  for (let i = 0; i < 1000; i++) {
    const x = r();
    assert.ok(x >= 0 && x < 1);
  }
});

const statsOf = (label: string, values: number[], key = 'p50', extra: Partial<RunRow> = {}) => ({
  label,
  entry: label,
  stats: entryStats(values.map((v, i) => run(label, i + 1, { [key]: v }, extra))),
});

test('judge: a clear winner with its margin; overlapping spreads are no clear difference', () => {
  const c = judge(figure('p50'), [statsOf('B', [5, 6, 7]), statsOf('A', [1, 2, 3])]);
  assert.equal(c.outcome, 'winner');
  assert.equal(c.winner!.label, 'A');
  assert.equal(c.ratio, 3);
  assert.equal(c.abs, 4);
  assert.match(
    c.text,
    /^p50 latency: A wins, 3\.00× lower \(−4\.00 ms\): A 2\.00 ms \[1\.00–3\.00\] vs B 6\.00 ms \[5\.00–7\.00\]$/,
  );

  const tie = judge(figure('p50'), [statsOf('A', [1, 2, 3]), statsOf('B', [2.5, 4, 5])]);
  assert.equal(tie.outcome, 'no-clear-difference');
  assert.match(tie.text, /no clear difference \(spreads overlap\)/);

  const up = judge(figure('msgsPerSec'), [
    statsOf('A', [100, 110, 120], 'msgsPerSec'),
    statsOf('B', [200, 210, 220], 'msgsPerSec'),
  ]);
  assert.equal(up.outcome, 'winner');
  assert.equal(up.winner!.label, 'B');
  assert.match(up.text, /B wins, 1\.91× higher \(\+100 msg\/s\)/);

  const single = judge(figure('p50'), [statsOf('A', [1]), statsOf('B', [9])]);
  assert.equal(single.outcome, 'no-clear-difference');
  assert.match(single.text, /one run gives no spread/);

  const close = judge(figure('wirePerMsg'), [
    statsOf('A', [1000, 1000], 'wirePerMsg'),
    statsOf('B', [1040, 1040], 'wirePerMsg'),
  ]);
  assert.equal(close.outcome, 'no-clear-difference');
  assert.match(close.text, /within 5%/);

  const missing = judge(figure('connect'), [statsOf('A', [1, 2]), statsOf('B', [3, 4])]);
  assert.equal(missing.outcome, 'not-measured');
});

test("stats table: a proxy CPU column only when runs went through a --proxy, each entry's median and spread", () => {
  const direct = new Map([['ws-echo', entryStats([run('ws-echo', 1, { p50: 1 }), run('ws-echo', 2, { p50: 2 })])]]);
  assert.doesNotMatch(formatStatsTable(direct), /proxy CPU/);
  const proxied = new Map([
    // 1, 2 and 3 ms of proxy CPU for 100 messages each: 10, 20 and 30 ms per 1,000
    ['ws-echo', entryStats([1, 2, 3].map((i) => run('ws-echo', i, { p50: 1 }, { proxyCpuMs: i })))],
  ]);
  const [head, , row] = formatStatsTable(proxied).split('\n');
  const col = head!.indexOf('proxy CPU ms/1k');
  assert.ok(col > 0, head);
  assert.match(row!, /20 \[10–30\]/);
});

test('judge: a generator-bound row never wins', () => {
  const flagged = { generatorBound: true };
  // the flagged row looks best: no verdict at all
  const c = judge(figure('p50'), [statsOf('A', [1, 1.1, 1.2], 'p50', flagged), statsOf('B', [5, 6, 7])]);
  assert.equal(c.outcome, 'no-verdict');
  assert.equal(c.winner, undefined);
  assert.match(c.text, /no verdict, A generator-bound/);
  // the flagged row is clearly behind: the best unflagged row may still win
  const d = judge(figure('p50'), [statsOf('A', [9, 10], 'p50', flagged), statsOf('B', [1, 2]), statsOf('C', [4, 5])]);
  assert.equal(d.outcome, 'winner');
  assert.equal(d.winner!.label, 'B');
  // only flagged rows: no winner
  const e = judge(figure('p50'), [statsOf('A', [1, 2], 'p50', flagged), statsOf('B', [5, 6], 'p50', flagged)]);
  assert.equal(e.outcome, 'no-verdict');
  // the flag on any one run marks the entry
  assert.equal(entryStats([run('x', 1, { p50: 1 }), run('x', 2, { p50: 1 }, flagged)]).generatorBound, true);
});

test('judge: a whole-ms clock widens the spread by 1 ms each way', () => {
  const whole = { latencyResolutionMs: 1 };
  const c = judge(figure('p50'), [statsOf('gRPC', [0, 0, 0], 'p50', whole), statsOf('WebSocket', [0.2, 0.25, 0.3])]);
  assert.equal(c.outcome, 'no-clear-difference');
  assert.match(c.text, /clock resolution/);
  assert.match(c.text, /gRPC 0\.00 ms \[0\.00–0\.00\] \(whole ms\)/);
  const d = judge(figure('p50'), [statsOf('gRPC', [1, 1, 1], 'p50', whole), statsOf('Socket.IO', [3, 3.5, 4])]);
  assert.equal(d.outcome, 'winner');
  // not for counts: throughput is not widened
  const e = judge(figure('msgsPerSec'), [
    statsOf('gRPC', [10, 10.2], 'msgsPerSec', whole),
    statsOf('ws', [12, 12.5], 'msgsPerSec'),
  ]);
  assert.equal(e.outcome, 'winner');
});

test('verdicts: every workload with two entries that ran, its skipped figures left out', () => {
  const rows = [
    ...[1, 2].map((r) => run('sse-feed', r, { p50: 1 + r, msgsPerSec: 10 })),
    ...[1, 2].map((r) => run('ws-feed', r, { p50: 5 + r, msgsPerSec: 10 })),
    run('ws-echo', 1, { p50: 0.2 }),
  ];
  const list = verdicts(statsByEntry(rows));
  assert.deepEqual(
    list.map((v) => v.workload.id),
    ['push'],
  );
  assert.ok(!list[0]!.criteria.some((c) => c.figure.key === 'msgsPerSec'), 'paced feeds: no throughput verdict');
  assert.equal(list[0]!.criteria.find((c) => c.figure.key === 'p50')!.winner!.label, 'SSE');
  // every workload names entries that exist in npm start's comparison
  const names = new Set(COMPARISON.map((e) => e.name));
  for (const w of WORKLOADS) for (const e of Object.keys(w.entries)) assert.ok(names.has(e), `${w.id}: ${e}`);
});

test('compare: a run against itself has no regression; slower latency beyond the margin is one', () => {
  const A = {
    runs: [1, 2, 3].flatMap((r) => [
      run('ws-echo', r, { p50: 0.2 + r / 100, msgsPerSec: 5000 + r * 10 }),
      run('grpc-echo', r, { p50: 1, msgsPerSec: 3000 }, { latencyResolutionMs: 1 }),
    ]),
  };
  const same = compareResults(A, A, { margin: 0.1 });
  assert.equal(same.regressions.length, 0);
  assert.ok(same.changes.length >= 4);
  assert.ok(same.changes.every((c) => c.outcome === 'no-clear-change'));

  const slow = {
    runs: A.runs.map((r) => ({ ...r, p50: (r.p50 as number) * 3, msgsPerSec: (r.msgsPerSec as number) / 3 })),
  };
  const res = compareResults(A, slow, { margin: 0.1 });
  const keys = res.regressions.map((c) => `${c.entry} ${c.figure.key}`).sort();
  // grpc-echo's 1 ms → 3 ms is clear even with whole-ms widening ([0,2] vs [2,4] touch: not clear)
  assert.deepEqual(keys, ['grpc-echo msgsPerSec', 'ws-echo msgsPerSec', 'ws-echo p50']);
  assert.match(
    res.regressions.find((c) => c.figure.key === 'p50')!.text,
    /ws-echo · p50 latency: .* worse, 3\.00×, \+0\.44 ms — REGRESSION beyond 10%/,
  );
  // a generous margin lets the same change pass
  assert.equal(compareResults(A, slow, { margin: 5 }).regressions.length, 0);
  // an improvement is never a regression
  assert.equal(compareResults(slow, A, { margin: 0 }).regressions.length, 0);
  // only the figures asked for
  assert.deepEqual(
    compareResults(A, slow, { margin: 0.1, figures: ['p50'] }).regressions.map((c) => c.entry),
    ['ws-echo'],
  );
});

test('npm start options: defaults, repeats, seed, and errors that name the flag', () => {
  const d = parseOptions([]);
  assert.equal(d.repeats, 3);
  assert.equal(d.env.DURATION, '4s');
  assert.equal(d.env.PROFILE, 'compare');
  assert.deepEqual(d.conditions, { network: null, proxy: null });
  const quick = selectEntries(d);
  assert.ok(quick.length >= 10 && quick.length < COMPARISON.length);
  assert.equal(quick.find((e) => e.name === 'ws-echo')!.runEnv.WINDOW, '2s');
  const full = parseOptions(['--full', '--repeats', '5', '--seed', '9']);
  assert.equal(full.env.DURATION, undefined);
  assert.equal(full.repeats, 5);
  assert.equal(full.seed, 9);
  assert.equal(selectEntries(full).length, COMPARISON.length);
  assert.equal(selectEntries(full).find((e) => e.name === 'ws-echo')!.runEnv.WINDOW, '5s');
  // -e wins over an entry's own settings
  assert.equal(selectEntries(parseOptions(['-e', 'WINDOW=1s'])).find((e) => e.name === 'ws-echo')!.runEnv.WINDOW, '1s');
  assert.throws(() => parseOptions(['--profiel', 'smoke']), /unknown option '--profiel'/);
  assert.throws(() => parseOptions(['--repeats', 'lots']), /--repeats 'lots'/);
  assert.throws(() => parseOptions(['-e', 'NOEQUALS']), /-e 'NOEQUALS'/);
  assert.throws(() => parseCompareOptions(['a']), /expected two results folders, got 1/);
  assert.throws(() => parseCompareOptions(['a', 'b', '--figures', 'speed']), /unknown figure 'speed'/);
  assert.throws(() => parseCompareOptions(['a', 'b', '--margni', '5']), /unknown option '--margni'/);
  assert.equal(parseCompareOptions(['a', 'b', '--margin', '25']).margin, 0.25);
});

test('report page: self-contained, verdicts first, chart data from the runs', () => {
  const runs = [1, 2, 3].flatMap((r) => [
    run(
      'ws-echo',
      r,
      {
        p50: 0.2,
        p90: 0.5,
        p95: 0.6,
        p99: 1 + r,
        max: 5,
        msgsPerSec: 5000 + r,
        connect: 2,
        cpuPer1k: 50,
        wirePerMsg: 12,
      },
      { dir: `ws-echo/run-${r}`, dashboard: `ws-echo/run-${r}/dashboard.html` } as Partial<RunRow>,
    ),
    run(
      'socketio-echo',
      r,
      { p50: 0.5, p90: 0.9, p95: 1, p99: 2, max: 7, msgsPerSec: 2000, connect: 3, cpuPer1k: 120, wirePerMsg: 38 },
      { dir: `socketio-echo/run-${r}` } as Partial<RunRow>,
    ),
  ]);
  const stats = statsByEntry(runs);
  const list = verdicts(stats);
  const html = reportHtml({
    meta: {
      repeats: 3,
      seed: 1,
      command: 'npm start -- --seed 1',
      environment: { machine: 'test box' },
      settings: { PROFILE: 'compare' },
    },
    runs,
    stats,
    verdicts: list,
  });
  assert.ok(!/<(script|link|img)[^>]+(src|href)=/i.test(html), 'nothing loaded from elsewhere');
  // the only addresses are Chart.js's own comments and strings, none fetched
  const addresses = new Set(html.match(/https?:\/\/[\w.-]+/g));
  assert.deepEqual(
    [...addresses].filter((a) => !['https://www.chartjs.org', 'https://github.com'].includes(a)),
    [],
  );
  assert.ok(html.indexOf('id="verdicts"') < html.indexOf('id="w-echo"'), 'verdicts come first');
  assert.match(html, /p50 latency: WebSocket wins, 2\.50× lower/);
  assert.match(html, /href="ws-echo\/run-2\/dashboard\.html"/);
  assert.match(html, /npm start -- --seed 1/);
  assert.match(html, /Chart\.js v4/);
  const data = JSON.parse(/<script id="rtb-data" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!);
  assert.deepEqual(data.workloads, list.map(chartData));
  const echo = data.workloads[0];
  assert.deepEqual(echo.latency.series[0], {
    label: 'WebSocket',
    values: [0.2, 0.5, 0.6, 3, 5],
    min: [0.2, 0.5, 0.6, 2, 5],
    max: [0.2, 0.5, 0.6, 4, 5],
  });
  assert.deepEqual(echo.bars.find((b: { key: string }) => b.key === 'msgsPerSec').series[0], {
    label: 'WebSocket',
    center: 5002,
    min: 5001,
    max: 5003,
    n: 3,
  });
});
