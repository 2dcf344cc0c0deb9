// @ts-check
// The comparison under several sets of conditions (`npm start -- --network loopback,wan,…`,
// `--proxy caddy,none`): the runs grouped by the conditions they went through, then per workload
// how each protocol's latency (p50, p95) and throughput move from one set to the next (each
// set's median over its runs and the change against the first set), and what a reverse proxy
// costs each protocol when the same invocation ran with and without it. Pure: no I/O, tested in
// test/unit/shapes.test.ts.
import { WORKLOADS, statsByEntry } from './verdicts.mjs';

/**
 * @typedef {{ network: string | null, proxy: string | null }} Conditions
 * @typedef {{ conditions: Conditions, label: string, slug: string, runs: import('./verdicts.mjs').RunRow[] }} ConditionGroup
 */

/** How a set of conditions is named: the shape (loopback without one), then "via <proxy>". @param {Partial<Conditions> | undefined} c */
export function conditionLabel(c) {
  return `${c?.network ?? 'loopback'}${c?.proxy ? ` via ${c.proxy}` : ''}`;
}

/** The same, fit for a folder name or an HTML id. @param {Partial<Conditions> | undefined} c */
export function conditionSlug(c) {
  return conditionLabel(c).replace(/[^A-Za-z0-9_-]+/g, '-');
}

/** @param {Partial<Conditions> | undefined} a @param {Partial<Conditions> | undefined} b */
export function sameConditions(a, b) {
  return (a?.network ?? null) === (b?.network ?? null) && (a?.proxy ?? null) === (b?.proxy ?? null);
}

/**
 * The runs grouped by their conditions, in the order of `sets` (what the run planned), then any
 * other conditions in the order they first appear.
 * @param {import('./verdicts.mjs').RunRow[]} runs @param {Conditions[]} [sets] @returns {ConditionGroup[]}
 */
export function groupByConditions(runs, sets = []) {
  /** @type {Conditions[]} */
  const order = [];
  for (const c of [...sets, ...runs.map((r) => /** @type {Conditions} */ (r.conditions ?? {}))]) {
    const n = { network: c.network ?? null, proxy: c.proxy ?? null };
    if (!order.some((o) => sameConditions(o, n))) order.push(n);
  }
  return order
    .map((conditions) => ({
      conditions,
      label: conditionLabel(conditions),
      slug: conditionSlug(conditions),
      runs: runs.filter((r) => sameConditions(r.conditions, conditions)),
    }))
    .filter((g) => g.runs.length > 0);
}

/** The figures followed across conditions. */
export const SHAPE_FIGURES = /** @type {const} */ ([
  { key: 'p50', label: 'p50 ms', digits: 2 },
  { key: 'p95', label: 'p95 ms', digits: 2 },
  // one decimal below 100 msg/s: images over a slow link come a few per second
  { key: 'msgsPerSec', label: 'msgs/s', digits: 1 },
]);

/**
 * One figure under one set: the median over that set's runs with its spread, and the change
 * against the first set (ratio = this ÷ first, delta = this − first; null without both).
 * @typedef {{ center: number, min: number, max: number, n: number, ratio: number | null, delta: number | null }} ShapeCell
 */

/**
 * @typedef {object} ShapeWorkload
 * @property {string} id
 * @property {string} title
 * @property {Array<{ label: string, entry: string, figures: Record<string, Array<ShapeCell | null>> }>} rows  one per protocol; figures[key][i] is set i
 */

/**
 * Per workload, per protocol, how p50, p95 and throughput change across the sets of conditions.
 * A workload is shown when one of its entries ran and is not already shown, or two of them ran;
 * the figures a workload skips (a paced feed's throughput, call patterns' latency) stay out.
 * @param {ConditionGroup[]} groups @param {string[]} [entryOrder] @param {import('./verdicts.mjs').Workload[]} [workloads]
 * @returns {{ sets: Array<{ label: string, slug: string, conditions: Conditions, runs: number }>, workloads: ShapeWorkload[] }}
 */
export function underConditions(groups, entryOrder, workloads = WORKLOADS) {
  const stats = groups.map((g) => statsByEntry(g.runs, entryOrder));
  const ran = (/** @type {string} */ entry) => stats.some((s) => s.has(entry));
  /** @type {Set<string>} */
  const shown = new Set();
  /** @type {ShapeWorkload[]} */
  const out = [];
  for (const w of workloads) {
    const present = Object.entries(w.entries).filter(([entry]) => ran(entry));
    if (present.length === 0 || (present.length === 1 && shown.has(present[0][0]))) continue;
    const figures = SHAPE_FIGURES.filter((f) => !w.skip?.includes(f.key));
    out.push({
      id: w.id,
      title: w.title,
      rows: present.map(([entry, label]) => {
        shown.add(entry);
        /** @type {Record<string, Array<ShapeCell | null>>} */
        const byFigure = {};
        for (const f of figures) {
          const values = stats.map((s) => s.get(entry)?.figures[f.key] ?? null);
          const first = values[0];
          byFigure[f.key] = values.map((v) =>
            v
              ? {
                  center: v.center,
                  min: v.min,
                  max: v.max,
                  n: v.n,
                  ratio: first && first.center !== 0 ? v.center / first.center : null,
                  delta: first ? v.center - first.center : null,
                }
              : null,
          );
        }
        return { label, entry, figures: byFigure };
      }),
    });
  }
  return {
    sets: groups.map((g) => ({ label: g.label, slug: g.slug, conditions: g.conditions, runs: g.runs.length })),
    workloads: out,
  };
}

/** 12.3, 0.25, 28070 @param {number} v @param {number} digits */
export function formatFigure(v, digits) {
  const d = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? Math.min(1, digits) : digits;
  return v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** "×421", "×1.02", "×0.0041" @param {number} r */
export function formatChange(r) {
  return `×${r >= 10 ? r.toFixed(0) : r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}`;
}

/**
 * Lines with the first column left-aligned and the rest right-aligned. @param {string[][]} rows
 * @returns {string[]}
 */
function columns(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  return rows.map((cells) =>
    cells
      .map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * The printed table: per workload, a line per protocol and figure, a column per set of
 * conditions (median over its runs), and from the second set on the change against the first.
 * @param {ReturnType<typeof underConditions>} table @returns {string}
 */
export function formatShapeTable(table) {
  const first = table.sets[0]?.label ?? '';
  const lines = [
    `Under network shapes: median of each entry's runs under each (${table.sets.map((s) => `${s.label} ${s.runs} run${s.runs === 1 ? '' : 's'}`).join(', ')}); ×: the change against ${first}`,
  ];
  for (const w of table.workloads) {
    lines.push('', `${w.title}:`);
    const head = ['  protocol', 'figure', ...table.sets.map((s) => s.label)];
    /** @type {string[][]} */
    const body = [];
    for (const r of w.rows) {
      let lead = true;
      for (const f of SHAPE_FIGURES) {
        const cells = r.figures[f.key];
        if (!cells) continue;
        body.push([
          lead ? `  ${r.label}` : '  ',
          f.label,
          ...cells.map((c, i) =>
            c
              ? `${formatFigure(c.center, f.digits)}${i > 0 && c.ratio !== null ? ` (${formatChange(c.ratio)})` : ''}`
              : '–',
          ),
        ]);
        lead = false;
      }
    }
    lines.push(...columns([head, ...body]));
  }
  lines.push(
    '',
    'p50/p95: per-message latency (rtb_latency, see README "How latency is taken"); msgs/s: delivered messages per second over the run.',
  );
  return lines.join('\n');
}

/**
 * @typedef {object} ProxyCost
 * @property {string | null} network     the shape both sides ran under (null: loopback)
 * @property {string} proxy
 * @property {Array<{ entry: string, without: Record<string, number | null>, with: Record<string, number | null>, proxyCpuPer1k: number | null }>} entries
 *   medians per figure (p50, p95, msgsPerSec, cpuPer1k) without and with the proxy
 */

const COST_FIGURES = /** @type {const} */ (['p50', 'p95', 'msgsPerSec', 'cpuPer1k']);

/**
 * What each proxy cost each entry, for every shape that ran both with that proxy and without a
 * proxy in the same invocation: medians without and with it, and the proxy's own CPU per 1,000
 * delivered messages. Works for any proxy name.
 * @param {ConditionGroup[]} groups @param {string[]} [entryOrder] @returns {ProxyCost[]}
 */
export function proxyCosts(groups, entryOrder) {
  /** @type {ProxyCost[]} */
  const out = [];
  for (const g of groups) {
    if (!g.conditions.proxy) continue;
    const bare = groups.find((h) => h.conditions.network === g.conditions.network && !h.conditions.proxy);
    if (!bare) continue;
    const withStats = statsByEntry(g.runs, entryOrder);
    const withoutStats = statsByEntry(bare.runs, entryOrder);
    const entries = [...withStats.values()]
      .filter((s) => withoutStats.has(s.name))
      .map((s) => {
        const b = /** @type {import('./verdicts.mjs').EntryStats} */ (withoutStats.get(s.name));
        const pick = (/** @type {import('./verdicts.mjs').EntryStats} */ x) =>
          Object.fromEntries(COST_FIGURES.map((k) => [k, x.figures[k]?.center ?? null]));
        return {
          entry: s.name,
          without: pick(b),
          with: pick(s),
          proxyCpuPer1k: s.figures.proxyCpuPer1k?.center ?? null,
        };
      });
    if (entries.length) out.push({ network: g.conditions.network, proxy: g.conditions.proxy, entries });
  }
  return out;
}

/** The printed proxy-cost tables. @param {ProxyCost[]} costs @returns {string} */
export function formatProxyCosts(costs) {
  /** @param {number | null} a @param {number | null} b @param {number} digits */
  const move = (a, b, digits) =>
    a === null || b === null
      ? '–'
      : `${formatFigure(a, digits)} → ${formatFigure(b, digits)} (${b - a >= 0 ? '+' : '−'}${formatFigure(Math.abs(b - a), digits)})`;
  const parts = costs.map((c) => {
    const head = ['  entry', '', 'p50 ms', 'p95 ms', 'msgs/s', 'srv CPU ms/1k', `${c.proxy} CPU ms/1k`];
    const body = c.entries.map((e) => [
      `  ${e.entry}`,
      '',
      move(e.without.p50, e.with.p50, 2),
      move(e.without.p95, e.with.p95, 2),
      move(e.without.msgsPerSec, e.with.msgsPerSec, 0),
      move(e.without.cpuPer1k, e.with.cpuPer1k, 0),
      e.proxyCpuPer1k === null ? '–' : formatFigure(e.proxyCpuPer1k, 0),
    ]);
    return [
      `Proxy cost: ${c.proxy} vs no proxy, under ${c.network ?? 'loopback'} (medians, without → with (difference)):`,
      ...columns([head, ...body]),
    ].join('\n');
  });
  return [
    ...parts,
    `srv CPU ms/1k: the servers' CPU per 1,000 delivered messages; proxy CPU ms/1k: the proxy process's own CPU (user + system, /proc, 10 ms ticks) per 1,000 delivered messages.`,
  ].join('\n\n');
}

/**
 * What the report's "Under network shapes" charts draw, per workload: the sets as labels, and per
 * protocol its p50 and p95 medians (latency chart) and throughput medians (bar chart).
 * @param {ReturnType<typeof underConditions>} table
 */
export function shapeChartData(table) {
  return table.workloads.map((w) => ({
    id: w.id,
    title: w.title,
    labels: table.sets.map((s) => s.label),
    latency: w.rows
      .flatMap((r) =>
        /** @type {const} */ (['p50', 'p95']).map((k) => ({
          label: `${r.label} ${k}`,
          dashed: k === 'p95',
          values: (r.figures[k] ?? []).map((c) => c?.center ?? null),
        })),
      )
      .filter((s) => s.values.some((v) => v !== null)),
    throughput: w.rows
      .map((r) => ({ label: r.label, values: (r.figures.msgsPerSec ?? []).map((c) => c?.center ?? null) }))
      .filter((s) => s.values.some((v) => v !== null)),
  }));
}
