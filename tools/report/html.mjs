// @ts-check
// results/<run>/report.html: one self-contained page (Chart.js and every style inlined, no
// network fetch) that opens offline and prints. Verdicts first; then per workload a table of
// every figure with its spread, links to each run's k6 summary and k6 web-dashboard export,
// and charts: latency percentile curves per protocol on a log axis, and bars with their
// min–max spread for throughput, connect time, server CPU and wire bytes per message; then the
// environment, the method and the command that reproduces the run.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, release, totalmem, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { root } from '../paths.mjs';
import { FIGURES, METHOD, formatSpread, statsByEntry, verdicts as judgeAll } from './verdicts.mjs';
import {
  SHAPE_FIGURES,
  conditionLabel,
  formatChange,
  formatFigure,
  groupByConditions,
  proxyCosts,
  sameConditions,
  shapeChartData,
  underConditions,
} from './shapes.mjs';

const require = createRequire(import.meta.url);

/** The machine and versions a run was taken on. @param {string} k6 the k6 binary */
export function environment(k6) {
  const version = spawnSync(k6, ['version'], { encoding: 'utf8' });
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' });
  /** @type {Record<string, string>} */
  const packages = {};
  for (const name of ['ws', '@grpc/grpc-js', 'socket.io', 'chart.js']) {
    try {
      packages[name] = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      packages[name] = '?';
    }
  }
  const cpu = cpus();
  return {
    machine: `${cpu.length} × ${cpu[0]?.model?.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    os: `${platform()} ${release()}`,
    node: process.version,
    k6: (version.stdout ?? '').split('\n')[0].trim() || '?',
    k6Extensions: (version.stdout ?? '')
      .split('\n')
      .slice(1)
      .map((l) => l.trim())
      .filter((l) => l && !/^Extensions:?$/.test(l)),
    packages,
    commit: git.status === 0 ? `${git.stdout.trim()}${dirty.stdout?.trim() ? ' (with local changes)' : ''}` : '?',
  };
}

/**
 * The report of a results folder from its comparison.json alone (what npm start wrote), so a
 * report can be rebuilt later: `npm start -- --report-from DIR`.
 * @param {any} json comparison.json
 * With several sets of conditions (`--network loopback,wan`), `groups` holds each set's stats and
 * verdicts, `stats` and `verdicts` all of them (keys and titles naming the set), `shapes` the
 * per-workload table across the sets and `proxyCosts` what a proxy cost where a set ran without it.
 */
export function buildReport(json) {
  const { runs, ...meta } = json;
  /** @type {string[] | undefined} */
  const order = meta.entries?.map((/** @type {{ name: string }} */ e) => e.name);
  // one group per set of conditions the runs went through (--network / --proxy lists)
  const groups = groupByConditions(runs, meta.conditionSets).map((g) => {
    const stats = statsByEntry(g.runs, order);
    return { ...g, stats, verdicts: judgeAll(stats) };
  });
  if (groups.length <= 1) {
    const stats = groups[0]?.stats ?? new Map();
    const verdicts = groups[0]?.verdicts ?? [];
    return {
      html: reportHtml({ meta, runs, stats, verdicts }),
      stats,
      verdicts,
      groups,
      shapes: null,
      proxyCosts: [],
    };
  }
  const shapes = underConditions(groups, order);
  const costs = proxyCosts(groups, order);
  // every set's verdicts, each workload named (and anchored) with its set
  const verdicts = groups.flatMap((g) =>
    g.verdicts.map((v) => ({
      ...v,
      workload: { ...v.workload, id: `${v.workload.id}--${g.slug}`, title: `${v.workload.title}, under ${g.label}` },
    })),
  );
  /** @type {Map<string, import('./verdicts.mjs').EntryStats>} */
  const stats = new Map(groups.flatMap((g) => [...g.stats.values()].map((s) => [`${s.name} (${g.label})`, s])));
  return {
    html: reportHtml({ meta, runs, stats, verdicts, shapes, proxyCosts: costs }),
    stats,
    verdicts,
    groups,
    shapes,
    proxyCosts: costs,
  };
}

/** @param {unknown} s */
const esc = (s) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** JSON safe inside a <script> element. @param {unknown} v */
const scriptJson = (v) => JSON.stringify(v).replace(/</g, '\\u003c');

/** The inlined chart library (its UMD build; "</script" cannot occur in it). */
function chartJs() {
  // the package's exports map hides dist/ files; its main entry sits in the same folder
  const code = readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
  // no source-map comment: a browser's developer tools would try to fetch the map
  return code.replace(/<\/script/gi, '<\\/script').replace(/^\/\/# sourceMappingURL=.*$/gm, '');
}

const PERCENTILES = /** @type {const} */ ([
  ['p50', 'p50'],
  ['p90', 'p90'],
  ['p95', 'p95'],
  ['p99', 'p99'],
  ['max', 'max'],
]);
const BARS = /** @type {const} */ (['msgsPerSec', 'connect', 'cpuPer1k', 'wirePerMsg']);

/**
 * What the page's charts draw, per workload: plain numbers, so a test can hold them against
 * the runs' summaries.
 * @param {import('./verdicts.mjs').Verdict} v
 */
export function chartData(v) {
  const skip = v.workload.skip ?? [];
  const latency = skip.includes('p50')
    ? null
    : {
        labels: PERCENTILES.map(([, l]) => l),
        series: v.rows
          .map((r) => ({
            label: r.label,
            values: PERCENTILES.map(([k]) => r.stats.figures[k]?.center ?? null),
            min: PERCENTILES.map(([k]) => r.stats.figures[k]?.min ?? null),
            max: PERCENTILES.map(([k]) => r.stats.figures[k]?.max ?? null),
          }))
          .filter((s) => s.values.some((x) => x !== null)),
      };
  const bars = BARS.filter((k) => !skip.includes(k))
    .map((key) => {
      const figure = /** @type {import('./verdicts.mjs').Figure} */ (FIGURES.find((f) => f.key === key));
      const series = v.rows
        .filter((r) => r.stats.figures[key])
        .map((r) => {
          const s = /** @type {import('./stats.mjs').Spread} */ (r.stats.figures[key]);
          return { label: r.label, center: s.center, min: s.min, max: s.max, n: s.n };
        });
      return { key, title: figure.label, unit: figure.unit, series };
    })
    .filter((b) => b.series.length > 0);
  return { id: v.workload.id, latency: latency && latency.series.length ? latency : null, bars };
}

/**
 * @typedef {object} ReportInput
 * @property {any} meta   what comparison.json holds besides the runs (command, environment, …)
 * @property {Array<import('./verdicts.mjs').RunRow & { dir?: string, dashboard?: string | null }>} runs
 * @property {Map<string, import('./verdicts.mjs').EntryStats>} stats
 * @property {import('./verdicts.mjs').Verdict[]} verdicts
 * @property {ReturnType<typeof underConditions> | null} [shapes]  several sets of conditions: the table across them
 * @property {import('./shapes.mjs').ProxyCost[]} [proxyCosts]
 */

/** @param {ReportInput} input @returns {string} the whole page */
export function reportHtml({ meta, runs, stats, verdicts, shapes = null, proxyCosts = [] }) {
  const data = { workloads: verdicts.map(chartData), shapes: shapes ? shapeChartData(shapes) : [] };
  const judged = new Set(verdicts.flatMap((v) => v.rows.map((r) => r.stats)));
  const others = [...stats.entries()].filter(([, s]) => !judged.has(s));
  const env = meta.environment ?? {};
  const conditions = Object.entries(meta.conditions ?? {}).filter(([, v]) => v);
  const verdictList = verdicts
    .map(
      (v) =>
        `<section class="verdict"><h3><a href="#w-${esc(v.workload.id)}">${esc(v.workload.title)}</a></h3><ul>${v.criteria
          .filter((c) => c.outcome !== 'not-measured')
          .map(
            (c) =>
              `<li class="${c.outcome}">${c.outcome === 'winner' ? '<b>' : ''}${esc(c.text)}${c.outcome === 'winner' ? '</b>' : ''}</li>`,
          )
          .join('')}</ul>${v.workload.note ? `<p class="note">${esc(v.workload.note)}</p>` : ''}</section>`,
    )
    .join('\n');
  const workloadSections = verdicts
    .map((v) => {
      const d = chartData(v);
      const canvases = [
        d.latency
          ? `<div class="chart"><canvas id="latency-${esc(v.workload.id)}" role="img" aria-label="latency percentiles"></canvas></div>`
          : '',
        ...d.bars.map(
          (b) =>
            `<div class="chart"><canvas id="${b.key}-${esc(v.workload.id)}" role="img" aria-label="${esc(b.title)}"></canvas></div>`,
        ),
      ].join('');
      return `<section class="workload" id="w-${esc(v.workload.id)}"><h2>${esc(v.workload.title)}</h2>
${entryTable(
  v.rows.map((r) => ({ label: r.label, stats: r.stats })),
  runs,
)}
<div class="charts">${canvases}</div></section>`;
    })
    .join('\n');
  const title = `rtbench: ${verdicts.length} workloads, ${meta.repeats} runs each`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style></head>
<body>
<header><h1>rtbench comparison</h1>
<p>${esc(meta.startedAt ?? '')} · ${shapes ? `${esc(meta.entries?.length ?? '?')} entries under ${shapes.sets.length} sets of conditions` : `${stats.size} entries`} × ${esc(meta.repeats)} runs · ${esc(Math.round(meta.wallSeconds ?? 0))} s in all · ${esc(env.machine ?? '')}${conditions.length ? ` · ${conditions.map(([k, v]) => `${esc(k)}: ${esc(v)}`).join(', ')}` : ' · loopback, no proxy'}</p>
<p class="method">Method: ${esc(METHOD)}. Rows that k6 itself limited (generator-bound) are never winners.</p></header>
<main>
<h2 id="verdicts">Verdicts</h2>
${verdictList || '<p>No workload had two of its entries in this run.</p>'}
${shapes ? shapesSection(shapes, proxyCosts) : ''}
${workloadSections}
${
  others.length
    ? `<section class="workload"><h2>Other entries (no counterpart in this run)</h2>${entryTable(
        others.map(([label, s]) => ({ label, stats: s })),
        runs,
      )}</section>`
    : ''
}
<section id="environment"><h2>Environment and how to reproduce</h2>
<table class="env">
<tr><th>machine</th><td>${esc(env.machine ?? '?')}, ${esc(env.os ?? '')}</td></tr>
<tr><th>Node</th><td>${esc(env.node ?? '?')}</td></tr>
<tr><th>k6</th><td>${esc(env.k6 ?? '?')}${env.k6Extensions?.length ? ` (${esc(env.k6Extensions.join(', '))})` : ''}</td></tr>
<tr><th>packages</th><td>${esc(
    Object.entries(env.packages ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
  )}</td></tr>
<tr><th>commit</th><td>${esc(env.commit ?? '?')}</td></tr>
<tr><th>load</th><td>${esc(
    Object.entries(meta.settings ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
  )}${meta.full ? ' (--full)' : ''}</td></tr>
<tr><th>conditions</th><td>${conditions.length ? esc(conditions.map(([k, v]) => `${k}: ${v}`).join(', ')) : 'loopback (127.0.0.1), no network shaping, no proxy'}</td></tr>
<tr><th>runs</th><td>${esc(meta.repeats)} per entry, random interleaved order, seed ${esc(meta.seed)}${shapes ? ` (one set of conditions after another, each in its own order: seed, seed + 1, …)` : ''}</td></tr>
<tr><th>reproduce</th><td><code>${esc(meta.command ?? '')}</code></td></tr>
</table>
<details><summary>Run order</summary><ol class="order">${(meta.order ?? []).map((/** @type {any} */ o) => `<li>${esc(o.entry)} #${esc(o.repeat)}${o.conditions ? ` (${esc(conditionLabel(o.conditions))})` : ''}</li>`).join('')}</ol></details>
<details><summary>Each entry's settings</summary><ul>${(meta.entries ?? [])
    .map(
      (/** @type {any} */ e) =>
        `<li><code>${esc(e.script)}</code> ${esc(e.name)}: <code>${esc(
          Object.entries(e.env ?? {})
            .map(([k, v]) => `${k}=${v}`)
            .join(' '),
        )}</code></li>`,
    )
    .join('')}</ul></details>
<p class="note">Latencies are k6's <code>rtb_latency</code> per message (how each protocol takes it: see the README, "How latency is taken"); throughput is <code>rtb_messages</code> per second over each run; connect time <code>rtb_connect_time</code>; server CPU the servers' user + system CPU time per 1,000 delivered messages (GET /stats before and after each run); wire bytes what the workload's connections sent and received per delivered message.</p>
</section>
</main>
<script id="rtb-data" type="application/json">${scriptJson(data)}</script>
<script>${chartJs()}</script>
<script>${CLIENT}</script>
</body></html>
`;
}

/**
 * @param {Array<{ label: string, stats: import('./verdicts.mjs').EntryStats }>} rows
 * @param {ReportInput['runs']} runs
 */
function entryTable(rows, runs) {
  const head = ['', 'entry', 'runs', ...FIGURES.map((f) => `${f.label} (${f.unit})`), 'failed checks', 'k6 per run'];
  const body = rows.map(({ label, stats }) => {
    const own = runs
      .filter((r) => r.entry === stats.name && sameConditions(r.conditions, stats.conditions))
      .sort((a, b) => a.repeat - b.repeat);
    const links = own
      .map((r) =>
        r.dir
          ? `#${r.repeat}: ${r.dashboard ? `<a href="${esc(r.dashboard)}">dashboard</a>, ` : ''}<a href="${esc(`${r.dir}/summary.json`)}">summary</a>`
          : `#${r.repeat}`,
      )
      .join('<br>');
    const cells = FIGURES.map((f) => {
      const s = stats.figures[f.key];
      return `<td>${s ? esc(formatSpread(s, { unit: '', digits: f.digits }).replace(/ +/, ' ').trim()) : '–'}</td>`;
    }).join('');
    return `<tr><th>${esc(label)}${stats.generatorBound ? ' <span class="flag">generator-bound</span>' : ''}</th><td>${esc(stats.name)}</td><td>${stats.runs}</td>${cells}<td>${stats.failedChecks}</td><td class="links">${links}</td></tr>`;
  });
  return `<div class="scroll"><table class="figures"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table></div>`;
}

/**
 * "Under network shapes": per workload, each protocol's p50, p95 and throughput under each set
 * of conditions with the change against the first, and a latency and a throughput chart; then
 * what a proxy cost where the same invocation also ran without it.
 * @param {ReturnType<typeof underConditions>} shapes @param {import('./shapes.mjs').ProxyCost[]} costs
 */
function shapesSection(shapes, costs) {
  const first = shapes.sets[0]?.label ?? '';
  const chartData = shapeChartData(shapes);
  const tables = shapes.workloads
    .map((w, n) => {
      const d = chartData[n];
      const charts = [
        { kind: 'latency', series: d.latency },
        { kind: 'throughput', series: d.throughput },
      ];
      const rows = w.rows.flatMap((r) =>
        SHAPE_FIGURES.filter((f) => r.figures[f.key]).map(
          (f, i) =>
            `<tr><th>${i === 0 ? esc(r.label) : ''}</th><td>${esc(f.label)}</td>${r.figures[f.key]
              .map(
                (c, j) =>
                  `<td>${
                    c
                      ? `${esc(formatFigure(c.center, f.digits))}${c.n > 1 ? ` <span class="spread">[${esc(formatFigure(c.min, f.digits))}–${esc(formatFigure(c.max, f.digits))}]</span>` : ''}${j > 0 && c.ratio !== null ? ` <b>${esc(formatChange(c.ratio))}</b>` : ''}`
                      : '–'
                  }</td>`,
              )
              .join('')}</tr>`,
        ),
      );
      return `<section class="workload" id="shapes-${esc(w.id)}"><h3>${esc(w.title)}</h3>
<div class="scroll"><table class="figures"><thead><tr><th>protocol</th><th>figure</th>${shapes.sets.map((s) => `<th>${esc(s.label)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>
<div class="charts">${charts
        .filter((c) => c.series.length)
        .map(
          (c) =>
            `<div class="chart"><canvas id="shape-${c.kind}-${esc(w.id)}" role="img" aria-label="${c.kind} under each shape"></canvas></div>`,
        )
        .join('')}</div></section>`;
    })
    .join('\n');
  const costTables = costs
    .map(
      (c) =>
        `<h3>Proxy cost: ${esc(c.proxy)} vs no proxy, under ${esc(c.network ?? 'loopback')}</h3><div class="scroll"><table class="figures"><thead><tr><th>entry</th>${['p50 ms', 'p95 ms', 'msgs/s', 'server CPU ms/1k msgs'].map((h) => `<th>${esc(h)} without → with</th>`).join('')}<th>${esc(c.proxy)} CPU ms/1k msgs</th></tr></thead><tbody>${c.entries
          .map(
            (e) =>
              `<tr><th>${esc(e.entry)}</th>${
                /** @type {const} */ ([
                  ['p50', 2],
                  ['p95', 2],
                  ['msgsPerSec', 0],
                  ['cpuPer1k', 0],
                ])
                  .map(([k, d]) => {
                    const [a, b] = [e.without[k], e.with[k]];
                    return `<td>${a === null || b === null ? '–' : `${esc(formatFigure(a, d))} → ${esc(formatFigure(b, d))}`}</td>`;
                  })
                  .join('')
              }<td>${e.proxyCpuPer1k === null ? '–' : esc(formatFigure(e.proxyCpuPer1k, 0))}</td></tr>`,
          )
          .join('')}</tbody></table></div>`,
    )
    .join('\n');
  return `<h2 id="shapes">Under network shapes</h2>
<p class="note">The same workloads under each set of conditions in turn (${esc(shapes.sets.map((s) => `${s.label}: ${s.runs} runs`).join(', '))}): the median of each entry's runs, its min–max over them in brackets, and in bold the change against ${esc(first)}. Latency is rtb_latency per message (see the README, "How latency is taken"); throughput delivered messages per second over each run. Each set's own verdicts and figures follow below, named with the set.</p>
${tables}
${costTables}`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:1rem 1.5rem;color:#1b1b1b;background:#fff}
h1{margin:.2rem 0}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}h3{margin:.8rem 0 .2rem;font-size:1rem}
.method,.note{color:#555;font-size:.9em}
.verdict ul{margin:.2rem 0;padding-left:1.2rem}.verdict li{margin:.1rem 0}
li.winner b{color:#0b5d1e}li.no-clear-difference{color:#555}li.no-verdict{color:#8a4b00}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.85em}th,td{border:1px solid #ddd;padding:.25rem .4rem;text-align:right;white-space:nowrap}
thead th{background:#f4f4f4}tbody th{text-align:left}td.links{text-align:left;font-size:.9em}
table.env th{text-align:left;background:#f4f4f4}table.env td{text-align:left;white-space:normal}
.flag{color:#8a4b00;font-weight:normal;font-size:.85em}.spread{color:#777;font-size:.9em}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:1rem;margin-top:1rem}
.chart{position:relative;height:260px;border:1px solid #eee;padding:.3rem}
code{background:#f4f4f4;padding:0 .2rem;border-radius:3px;word-break:break-all}
@media print{body{max-width:none;padding:0}.chart{break-inside:avoid;height:230px}section.workload{break-before:page}details{display:none}a{color:inherit;text-decoration:none}}
`;

// Runs in the page: draws every chart from the JSON data block, no animation (prints and
// screenshots show the final picture).
const CLIENT = `
(function () {
  var data = JSON.parse(document.getElementById('rtb-data').textContent);
  var palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  function fmt(v) { return v == null ? '–' : Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3); }
  data.workloads.forEach(function (w) {
    if (w.latency) {
      // per protocol: the median line, and its min–max band over runs (two hidden-label lines
      // filled between them)
      var datasets = [];
      w.latency.series.forEach(function (s, i) {
        var colour = palette[i % palette.length];
        var pos = function (xs) { return xs.map(function (v) { return v > 0 ? v : null; }); };
        datasets.push({ label: s.label, data: pos(s.values), borderColor: colour, backgroundColor: colour, spanGaps: true });
        datasets.push({ label: s.label + ' min', band: true, data: pos(s.min), borderWidth: 0, pointRadius: 0, fill: false, spanGaps: true });
        datasets.push({ label: s.label + ' max', band: true, data: pos(s.max), borderWidth: 0, pointRadius: 0, fill: '-1', backgroundColor: colour + '26', spanGaps: true });
      });
      new Chart(document.getElementById('latency-' + w.id), {
        type: 'line',
        data: { labels: w.latency.labels, datasets: datasets },
        options: { scales: { y: { type: 'logarithmic', title: { display: true, text: 'ms (log scale)' } } },
          plugins: { title: { display: true, text: 'latency percentiles: median over runs, band min\\u2013max' },
            legend: { labels: { filter: function (item, chart) { return !chart.datasets[item.datasetIndex].band; } } },
            tooltip: { filter: function (item) { return !item.dataset.band; } } } }
      });
    }
    w.bars.forEach(function (b) {
      new Chart(document.getElementById(b.key + '-' + w.id), {
        type: 'bar',
        data: { labels: b.series.map(function (s) { return s.label; }), datasets: [
          { label: 'median of runs', data: b.series.map(function (s) { return s.center; }), backgroundColor: b.series.map(function (s, i) { return palette[i % palette.length] + '99'; }), grouped: false, order: 2 },
          { label: 'min\\u2013max over runs', data: b.series.map(function (s) { return [s.min, s.max]; }), backgroundColor: '#222', barPercentage: 0.08, grouped: false, order: 1, minBarLength: 2 }
        ] },
        options: { scales: { y: { beginAtZero: true, title: { display: true, text: b.unit } } },
          plugins: { title: { display: true, text: b.title + ' (' + b.unit + ')' },
            tooltip: { callbacks: { label: function (c) { var s = b.series[c.dataIndex]; return s.label + ': ' + fmt(s.center) + ' [' + fmt(s.min) + '\\u2013' + fmt(s.max) + '] ' + b.unit + ', ' + s.n + ' runs'; } } } } }
      });
    });
  });
  (data.shapes || []).forEach(function (w) {
    // per protocol, its p50 (solid) and p95 (dashed) median under each set of conditions
    if (w.latency.length) new Chart(document.getElementById('shape-latency-' + w.id), {
      type: 'line',
      data: { labels: w.labels, datasets: w.latency.map(function (s, i) {
        var colour = palette[Math.floor(i / 2) % palette.length];
        return { label: s.label, data: s.values.map(function (v) { return v > 0 ? v : null; }), borderColor: colour, backgroundColor: colour, borderDash: s.dashed ? [6, 4] : [], spanGaps: true };
      }) },
      options: { scales: { y: { type: 'logarithmic', title: { display: true, text: 'ms (log scale)' } } },
        plugins: { title: { display: true, text: 'latency p50 and p95 (dashed) under each shape' } } }
    });
    if (w.throughput.length) new Chart(document.getElementById('shape-throughput-' + w.id), {
      type: 'bar',
      data: { labels: w.labels, datasets: w.throughput.map(function (s, i) {
        return { label: s.label, data: s.values, backgroundColor: palette[i % palette.length] + '99' };
      }) },
      options: { scales: { y: { type: 'logarithmic', title: { display: true, text: 'msg/s (log scale)' } } },
        plugins: { title: { display: true, text: 'throughput under each shape (msg/s, log scale)' } } }
    });
  });
  document.documentElement.setAttribute('data-charts', String(Object.keys(Chart.instances).length));
})();
`;
