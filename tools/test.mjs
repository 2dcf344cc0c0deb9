#!/usr/bin/env node
// @ts-check
// `npm test`: the whole suite, tier by tier. `npm run test:unit` (or `--tier unit`) is the fast
// tier that needs neither k6 nor influxd.
//
//   node tools/test.mjs [--tier unit|servers|e2e|all] [name …]
//
// Steps: build, format check (Prettier) and type-check, then (servers/e2e) gofmt -l (must list nothing), go vet and go test for
// each of our k6 extensions and `npm run tools` (k6 and every Go-built tool, cached after the first
// run), then the node:test files of each tier in test/<tier>/. Every test file has a time limit (--test-timeout), the whole
// run has one (--max-minutes), and each tier runs in its own process group that is killed when it
// ends, so nothing a test started (servers, influxd, k6) outlives it. Stops at the first failure.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EXTENSIONS } from './k6.mjs';
import { root } from './paths.mjs';
import { chromium } from './chromium.mjs';
import { nginxBin } from './proxy.mjs';

export const TIERS = ['unit', 'servers', 'e2e'];
/** Tiers that need an optional extra and run only when named: browser needs Chromium, nginx nginx. */
export const OPTIONAL_TIERS = ['browser', 'nginx'];
const HELP = `usage: node tools/test.mjs [options] [name …]

  --tier T          unit | servers | e2e | all (default all); unit needs neither k6 nor influxd;
                    browser (not in all) needs Chromium, an optional extra: \`npm run test:browser\`
                    nginx (not in all) needs nginx, an optional extra: \`npm run test:nginx\`
  --test-timeout S  seconds one test may take before it fails (default 600)
  --max-minutes M   bound on the whole run; past it everything it started is killed (default 60)
  -h, --help        this text

Names select test files whose name contains one of them, e.g. \`npm test -- settings\`.`;

/** @param {string} msg @returns {never} */
function usage(msg) {
  console.error(`test: ${msg}\n\n${HELP}`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      tier: { type: 'string', default: 'all' },
      'test-timeout': { type: 'string', default: '600' },
      'max-minutes': { type: 'string', default: '60' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (err) {
  usage(/** @type {Error} */ (err).message);
}
const { values: opts, positionals: only } = parsed;
if (opts.help) {
  console.log(HELP);
  process.exit(0);
}
const tiers = opts.tier === 'all' ? TIERS : [String(opts.tier)];
if (!tiers.every((t) => TIERS.includes(t) || OPTIONAL_TIERS.includes(t)))
  usage(`--tier must be one of ${[...TIERS, ...OPTIONAL_TIERS].join(', ')}, all (got '${opts.tier}')`);
if (tiers.includes('browser') && !chromium()) {
  console.error(
    'test: the browser tier needs Chromium, an optional extra. Install it (Debian/Ubuntu: `apt-get install -y chromium`)\n' +
      'or point CHROMIUM_BIN at a Chromium or Chrome binary, then run `npm run test:browser` again.',
  );
  process.exit(1);
}
if (tiers.includes('nginx')) {
  try {
    nginxBin();
  } catch (err) {
    console.error(
      `test: the nginx tier needs nginx. ${/** @type {Error} */ (err).message} Then run \`npm run test:nginx\` again.`,
    );
    process.exit(1);
  }
}
if (tiers.includes('browser')) {
  // The browser scenarios' tests run k6/browser on the same Chromium.
  process.env.K6_BROWSER_EXECUTABLE_PATH ??= /** @type {string} */ (chromium());
  process.env.K6_BROWSER_ARGS ??= 'no-sandbox';
  process.env.K6_BROWSER_HEADLESS ??= 'true';
}
const testTimeoutS = Number(opts['test-timeout']);
if (!(testTimeoutS > 0)) usage(`--test-timeout must be a positive number of seconds (got '${opts['test-timeout']}')`);
const maxMinutes = Number(opts['max-minutes']);
if (!(maxMinutes > 0)) usage(`--max-minutes must be a positive number (got '${opts['max-minutes']}')`);
const deadline = Date.now() + maxMinutes * 60_000;

/** @param {string} title @param {number} started */
const done = (title, started) => console.log(`✓ ${title} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
/** @param {string} title @param {string | number | null} why @returns {never} */
function fail(title, why) {
  console.error(`✗ ${title} failed (${why})`);
  process.exit(typeof why === 'number' && why > 0 ? why : 1);
}

/** A short step run to completion. @param {string} title @param {string} cmd @param {string[]} args @param {string} [cwd] */
function step(title, cmd, args, cwd = root) {
  console.log(`\n▶ ${title}`);
  const started = Date.now();
  const res = spawnSync(cmd, args, { cwd, stdio: 'inherit', timeout: Math.max(1000, deadline - Date.now()) });
  if (res.status !== 0) fail(title, res.error ? res.error.message : (res.status ?? res.signal));
  done(title, started);
}

/**
 * `gofmt -l` over a Go module: passes when it lists no file (gofmt itself exits 0 either way).
 * gofmt is the one beside the `go` on PATH.
 * @param {string} dir
 */
function gofmtStep(dir) {
  const title = `gofmt -l ${dir}`;
  console.log(`\n▶ ${title}`);
  const started = Date.now();
  const goroot = spawnSync('go', ['env', 'GOROOT'], { encoding: 'utf8' });
  if (goroot.status !== 0) fail(title, goroot.error ? goroot.error.message : 'go env GOROOT failed');
  const gofmt = join(goroot.stdout.trim(), 'bin', 'gofmt');
  const res = spawnSync(gofmt, ['-l', '.'], { cwd: join(root, dir), encoding: 'utf8', timeout: 60_000 });
  if (res.status !== 0) fail(title, res.error ? res.error.message : res.stderr.trim() || res.status);
  if (res.stdout.trim() !== '')
    fail(title, `not gofmt-formatted: ${res.stdout.trim().split('\n').join(', ')}; run gofmt -w ${dir}`);
  done(title, started);
}

/**
 * Short steps run side by side (they only print when something is wrong); fails if any does.
 * @param {Array<[title: string, cmd: string, args: string[]]>} steps
 */
async function together(steps) {
  console.log(`\n▶ ${steps.map(([title]) => title).join(' | ')}`);
  const results = await Promise.all(
    steps.map(([title, cmd, args]) => {
      const started = Date.now();
      const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', timeout: Math.max(1000, deadline - Date.now()) });
      return new Promise((resolve) =>
        child.on('close', (code, signal) =>
          resolve({ title, ms: Date.now() - started, why: code === 0 ? null : (code ?? signal) }),
        ),
      );
    }),
  );
  for (const { title, ms, why } of results) if (why === null) done(title, Date.now() - ms);
  for (const { title, why } of results) if (why !== null) fail(title, why);
}

/**
 * A node:test run in its own process group: whatever it starts is killed with it when it ends,
 * and the whole group is killed if the run passes the deadline.
 * @param {string} title @param {string[]} files
 */
async function testRun(title, files) {
  console.log(`\n▶ ${title}`);
  const started = Date.now();
  const args = [
    '--enable-source-maps',
    '--test',
    '--test-concurrency=1',
    `--test-timeout=${testTimeoutS * 1000}`,
    '--test-force-exit',
    '--test-reporter=spec',
    ...files,
  ];
  const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', detached: true });
  const killGroup = () => {
    try {
      process.kill(-(/** @type {number} */ (child.pid)), 'SIGKILL');
    } catch {
      /* the group is already gone */
    }
  };
  const onSignal = () => {
    killGroup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  const timer = setTimeout(
    () => {
      console.error(`✗ ${title}: the run passed its bound of ${maxMinutes} min; killing it and everything it started`);
      killGroup();
    },
    Math.max(1000, deadline - Date.now()),
  );
  /** @type {[number | null, NodeJS.Signals | null]} */
  const [code, signal] = await new Promise((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  killGroup(); // anything a test left behind
  if (code !== 0) fail(title, code ?? signal);
  done(title, started);
}

const tsc = join(root, 'node_modules', '.bin', 'tsc');
step('build', process.execPath, ['build.mjs']);
await together([
  ['format check (Prettier)', join(root, 'node_modules', '.bin', 'prettier'), ['--check', '--log-level', 'warn', '.']],
  ['type-check servers, tests, tools', tsc, ['-p', 'tsconfig.json', '--noEmit']],
  ['type-check k6 scenarios', tsc, ['-p', 'scripts/tsconfig.json', '--noEmit']],
  ['type-check the browser page', tsc, ['-p', 'browser/tsconfig.json', '--noEmit']],
]);
if (tiers.some((t) => t === 'servers' || t === 'e2e')) {
  for (const ext of EXTENSIONS) {
    gofmtStep(ext.dir);
    step(`go vet ${ext.dir}`, 'go', ['vet', './...'], join(root, ext.dir));
    step(`go test ${ext.dir}`, 'go', ['test', './...'], join(root, ext.dir));
  }
  // our own Go tool (its behaviour is tested through the tests that run it)
  gofmtStep('tools/go/compose-check');
  step('go vet tools/go/compose-check', 'go', ['vet', './...'], join(root, 'tools/go/compose-check'));
  // Every Go-built tool, once into the cache (a first run's builds show here, not inside a test's time limit).
  step('tools: k6, influxd and the Go-built tools (cached after the first run)', process.execPath, [
    'tools/toolchain.mjs',
  ]);
}
for (const tier of tiers) {
  const dir = join(root, 'dist', 'test', tier);
  const files = (existsSync(dir) ? readdirSync(dir) : [])
    .filter((f) => f.endsWith('.test.js') && (only.length === 0 || only.some((o) => f.includes(o))))
    .sort()
    .map((f) => join('dist', 'test', tier, f));
  if (files.length === 0) {
    if (only.length === 0) fail(`tier ${tier}`, 'no test files');
    continue;
  }
  await testRun(`node:test ${tier} (${files.length} files)`, files);
}
