#!/usr/bin/env node
// @ts-check
// `npm run compare -- results/A results/B`: what changed from run A to run B per entry and
// headline figure, with the same spread rules as npm start's verdicts; prints it, writes it as
// HTML, and exits 1 when B regressed beyond --margin (for a CI gate).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareHtml, compareResults, loadResults } from './report/compare.mjs';
import { USAGE, parseOptions } from './report/compare-options.mjs';

function main() {
  let opts;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`npm run compare: ${/** @type {Error} */ (err).message}\n(see npm run compare -- --help)`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  let A, B;
  try {
    A = loadResults(opts.dirA);
    B = loadResults(opts.dirB);
  } catch (err) {
    console.error(`npm run compare: ${/** @type {Error} */ (err).message}`);
    process.exit(2);
  }
  const result = compareResults(A, B, { margin: opts.margin, figures: opts.figures });
  console.log(`A: ${opts.dirA}\nB: ${opts.dirB}\n`);
  const differs = ['conditions', 'settings'].filter((k) => JSON.stringify(A[k] ?? {}) !== JSON.stringify(B[k] ?? {}));
  if (differs.length)
    console.log(
      `note: the runs differ in ${differs.map((k) => `${k} (A ${JSON.stringify(A[k] ?? {})}, B ${JSON.stringify(B[k] ?? {})})`).join('; ')}\n`,
    );
  for (const c of result.changes)
    console.log(
      `${c.regression ? '✗' : c.outcome === 'no-clear-change' ? ' ' : c.outcome === 'better' ? '+' : '-'} ${c.text}`,
    );
  if (result.onlyA.length) console.log(`only in A: ${result.onlyA.join(', ')}`);
  if (result.onlyB.length) console.log(`only in B: ${result.onlyB.join(', ')}`);
  const html = opts.html ?? join(opts.dirB, 'compare.html');
  writeFileSync(html, compareHtml({ dirA: opts.dirA, dirB: opts.dirB, A, B, margin: opts.margin, result }));
  console.log(
    `\n${result.regressions.length ? `${result.regressions.length} regression(s)` : 'no regression'} beyond ${Math.round(opts.margin * 100)}% (${result.changes.length} figures compared) → ${html}`,
  );
  if (result.regressions.length) process.exit(1);
}

main();
