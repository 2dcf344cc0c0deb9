// @ts-check
// What changed between two result folders (another server version, network shape or machine):
// per entry and headline figure, A's and B's central values with their spreads, the change
// (× and absolute), "no clear change" when the spreads overlap (widened by the clock's
// resolution, as in verdicts), and a regression when B is clearly worse by more than a margin.
// Pure apart from reading comparison.json; tested in test/unit.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { overlaps } from './stats.mjs';
import { groupByConditions } from './shapes.mjs';
import { FIGURES, formatNumber, formatRatio, formatSpread, statsByEntry } from './verdicts.mjs';

/**
 * A results folder's comparison.json (written by npm start).
 * @param {string} dir @returns {{ runs: import('./verdicts.mjs').RunRow[], [k: string]: any }}
 */
export function loadResults(dir) {
  let text;
  try {
    text = readFileSync(join(dir, 'comparison.json'), 'utf8');
  } catch {
    throw new Error(`${dir}: no comparison.json (is it a folder npm start wrote?)`);
  }
  const json = JSON.parse(text);
  if (!Array.isArray(json.runs))
    throw new Error(`${dir}/comparison.json: no "runs" (written by an older npm start without repeats?)`);
  // one folder, one set of conditions: pooling a --network list's shapes would compare nothing real
  const sets = groupByConditions(json.runs);
  if (sets.length > 1)
    throw new Error(
      `${dir}: its runs were taken under ${sets.length} sets of conditions (${sets.map((g) => g.label).join(', ')}); compare takes folders of one (its report shows them side by side)`,
    );
  return json;
}

/**
 * @typedef {object} Change
 * @property {string} entry
 * @property {import('./verdicts.mjs').Figure} figure
 * @property {import('./stats.mjs').Spread} a
 * @property {import('./stats.mjs').Spread} b
 * @property {number} ratio     B ÷ A central values
 * @property {number} abs       B − A
 * @property {'better' | 'worse' | 'no-clear-change'} outcome
 * @property {boolean} regression  clearly worse by more than the margin
 * @property {string} text
 */

/**
 * @param {{ runs: import('./verdicts.mjs').RunRow[] }} A @param {{ runs: import('./verdicts.mjs').RunRow[] }} B
 * @param {{ margin: number, figures?: string[] }} opts  margin: a fraction (0.1 = B may be 10% worse before it counts)
 */
export function compareResults(A, B, { margin, figures }) {
  const sa = statsByEntry(A.runs);
  const sb = statsByEntry(B.runs);
  const chosen = FIGURES.filter((f) => !figures || figures.includes(f.key));
  /** @type {Change[]} */
  const changes = [];
  for (const [entry, ea] of sa) {
    const eb = sb.get(entry);
    if (!eb) continue;
    for (const figure of chosen) {
      const a = ea.figures[figure.key];
      const b = eb.figures[figure.key];
      if (!a || !b) continue;
      const timed = ['p50', 'p95', 'p99', 'connect'].includes(figure.key);
      const res = timed ? Math.max(ea.resolutionMs, eb.resolutionMs) : 0;
      const wa = { ...a, min: a.min - res, max: a.max + res };
      const wb = { ...b, min: b.min - res, max: b.max + res };
      const clear = a.n >= 2 && b.n >= 2 && !overlaps(wa, wb);
      const worse = figure.better === 'lower' ? b.center > a.center : b.center < a.center;
      const ratio = a.center === 0 ? (b.center === 0 ? 1 : Infinity) : b.center / a.center;
      // how much worse, as a fraction of A (for 'higher', a drop from 100 to 80 is 25% worse: 100/80 − 1)
      const worseBy = figure.better === 'lower' ? ratio - 1 : b.center === 0 ? Infinity : a.center / b.center - 1;
      const outcome = !clear ? 'no-clear-change' : worse ? 'worse' : 'better';
      const regression = outcome === 'worse' && worseBy > margin;
      const delta = `${b.center - a.center >= 0 ? '+' : '−'}${formatNumber(Math.abs(b.center - a.center), figure.digits)} ${figure.unit}`;
      const how =
        outcome === 'no-clear-change'
          ? a.n < 2 || b.n < 2
            ? 'no clear change (one run gives no spread)'
            : 'no clear change (spreads overlap)'
          : `${outcome}, ${Number.isFinite(ratio) ? `${formatRatio(ratio)}, ` : ''}${delta}`;
      changes.push({
        entry,
        figure,
        a,
        b,
        ratio,
        abs: b.center - a.center,
        outcome,
        regression,
        text: `${entry} · ${figure.label}: ${formatSpread(a, figure)} → ${formatSpread(b, figure)}: ${how}${regression ? ` — REGRESSION beyond ${Math.round(margin * 100)}%` : ''}`,
      });
    }
  }
  const onlyA = [...sa.keys()].filter((k) => !sb.has(k));
  const onlyB = [...sb.keys()].filter((k) => !sa.has(k));
  return { changes, regressions: changes.filter((c) => c.regression), onlyA, onlyB };
}

/** @param {unknown} s */
const esc = (s) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/**
 * The comparison as a self-contained page.
 * @param {{ dirA: string, dirB: string, A: any, B: any, margin: number, result: ReturnType<typeof compareResults> }} input
 */
export function compareHtml({ dirA, dirB, A, B, margin, result }) {
  const side = (/** @type {any} */ r) =>
    `${esc(r.environment?.machine ?? '?')}; Node ${esc(r.environment?.node ?? '?')}; ${esc(r.environment?.k6 ?? '?')}; commit ${esc(r.environment?.commit ?? '?')}; ${esc(r.repeats ?? '?')} runs per entry; ${esc(
      Object.entries(r.settings ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    )}; conditions ${esc(JSON.stringify(r.conditions ?? {}))}`;
  const rows = result.changes
    .map(
      (c) =>
        `<tr class="${c.regression ? 'regression' : c.outcome}"><th>${esc(c.entry)}</th><td>${esc(c.figure.label)}</td><td>${esc(formatSpread(c.a, c.figure))}</td><td>${esc(formatSpread(c.b, c.figure))}</td><td>${Number.isFinite(c.ratio) ? esc(formatRatio(c.ratio)) : '–'}</td><td>${esc(c.outcome.replace(/-/g, ' '))}${c.regression ? ' <b>REGRESSION</b>' : ''}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rtbench compare</title>
<style>body{font:14px/1.45 system-ui,sans-serif;max-width:1200px;margin:0 auto;padding:1rem}table{border-collapse:collapse;font-size:.85em}th,td{border:1px solid #ddd;padding:.25rem .4rem;text-align:right}tbody th{text-align:left}
tr.regression td,tr.regression th{background:#fde2e2}tr.worse td{color:#8a4b00}tr.better td{color:#0b5d1e}tr.no-clear-change td{color:#666}</style></head>
<body><h1>rtbench compare</h1>
<p><b>A</b> ${esc(dirA)}: ${side(A)}</p><p><b>B</b> ${esc(dirB)}: ${side(B)}</p>
<p>${result.regressions.length ? `<b>${result.regressions.length} regression(s)</b>` : 'No regression'} beyond ${Math.round(margin * 100)}%. Each figure: median of the runs with min–max; a change counts only when the spreads do not overlap.</p>
${result.onlyA.length ? `<p>Only in A: ${esc(result.onlyA.join(', '))}</p>` : ''}${result.onlyB.length ? `<p>Only in B: ${esc(result.onlyB.join(', '))}</p>` : ''}
<table><thead><tr><th>entry</th><th>figure</th><th>A</th><th>B</th><th>B ÷ A</th><th>change</th></tr></thead><tbody>${rows}</tbody></table>
</body></html>
`;
}
