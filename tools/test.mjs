#!/usr/bin/env node
// @ts-check
// `npm test`: build, type-check (servers/tests/tools and the k6 scenarios separately), go test
// for our k6 extensions, then every node:test suite (unit, servers, end to end with real k6).
// Stops at the first failing step with its exit code.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { EXTENSIONS, root } from './k6.mjs';

/** @param {string} title @param {string} cmd @param {string[]} args @param {string} [cwd] */
function step(title, cmd, args, cwd = root) {
  console.log(`\n▶ ${title}`);
  const started = Date.now();
  const res = spawnSync(cmd, args, { cwd, stdio: 'inherit' });
  if (res.status !== 0) {
    console.error(`✗ ${title} failed (exit ${res.status ?? res.signal})`);
    process.exit(res.status || 1);
  }
  console.log(`✓ ${title} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

const only = process.argv.slice(2); // optional test file names, e.g. `npm test -- settings`
const tsc = join(root, 'node_modules', '.bin', 'tsc');
step('build', process.execPath, ['build.mjs']);
step('type-check servers, tests, tools', tsc, ['-p', 'tsconfig.json', '--noEmit']);
step('type-check k6 scenarios', tsc, ['-p', 'scripts/tsconfig.json', '--noEmit']);
for (const ext of EXTENSIONS) step(`go test ${ext.dir}`, 'go', ['test', './...'], join(root, ext.dir));
const files = readdirSync(join(root, 'dist', 'test'))
  .filter((f) => f.endsWith('.test.js') && (only.length === 0 || only.some((o) => f.includes(o))))
  .map((f) => join('dist', 'test', f));
step(`node:test (${files.length} files)`, process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files]);
