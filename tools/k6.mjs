#!/usr/bin/env node
// @ts-check
// The project's k6: finds a suitable k6 v2 or builds one with xk6 and our extensions.
//
//   node tools/k6.mjs run-k6 <k6 args>   run it (what `npm run k6 -- <k6 args>` does)
//   node tools/k6.mjs build [--force]    build it now (`npm run k6:build`)
//   node tools/k6.mjs path               print its path, building it if needed
//
// Which k6, in this order: $K6_BIN if set (it must be suitable, or this stops and says why); else
// the cached build in $RTBENCH_CACHE_DIR (default ~/.cache/rtbench) if there is one; else a `k6`
// on PATH if suitable; else a build into that cache, made now. Suitable = k6 v2 with every
// extension below compiled in. The cache key covers the k6 and xk6 versions and the extensions'
// sources, so a change rebuilds. Go tools pinned in a go.mod are built into the same cache by
// goTool. Where the repo is: tools/paths.mjs.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { root } from './paths.mjs';

export const K6_VERSION = 'v2.2.0';
/**
 * Our own k6 extensions, each built in with xk6. Adding one is one line here.
 * @type {Array<{ module: string, dir: string, js: string }>}
 */
export const EXTENSIONS = [
  { module: 'rtbench.test/xk6-sse', dir: 'extensions/sse', js: 'k6/x/sse' },
  { module: 'rtbench.test/xk6-measure', dir: 'extensions/measure', js: 'k6/x/measure' },
  { module: 'rtbench.test/xk6-ws', dir: 'extensions/ws', js: 'k6/x/ws' },
];

export class K6Error extends Error {}

function xk6Version() {
  const m = /^\s*go\.k6\.io\/xk6 (v\S+)/m.exec(readFileSync(join(root, 'tools', 'go.mod'), 'utf8'));
  if (!m) throw new K6Error('tools/go.mod does not pin go.k6.io/xk6');
  return m[1];
}

export function cacheDir() {
  const base =
    process.env.RTBENCH_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'rtbench');
  mkdirSync(base, { recursive: true });
  return base;
}

/** @param {string} dir @returns {string[]} */
function filesUnder(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** The cached binary's name: changes when the k6/xk6 version or any extension source changes. */
function buildKey() {
  const hash = createHash('sha256').update(`${K6_VERSION} xk6 ${xk6Version()}\n`);
  for (const ext of EXTENSIONS) {
    hash.update(`${ext.module}=${ext.dir}\n`);
    for (const file of filesUnder(join(root, ext.dir))
      .filter((f) => /\.(go|mod|sum)$/.test(f) && !/_test\.go$/.test(f))
      .sort()) {
      hash.update(relative(root, file)).update(readFileSync(file));
    }
  }
  return `k6-${K6_VERSION}-${hash.digest('hex').slice(0, 12)}`;
}

/** Where the build for the current key lives: <cache>/<key>/k6 (named k6 so it reports itself as k6). */
function cachedK6() {
  return join(cacheDir(), buildKey(), 'k6');
}

/**
 * Why `bin` is not suitable, or null if it is.
 * @param {string} bin
 */
export function unsuitable(bin) {
  const res = spawnSync(bin, ['version'], { encoding: 'utf8' });
  if (res.error || res.status !== 0) return `'${bin} version' failed: ${res.error?.message ?? res.stderr.trim()}`;
  const out = res.stdout;
  // The first line reads '<name as invoked> v2.2.0 (go1.26.8, linux/amd64)'.
  const first = out.split('\n')[0] ?? '';
  if (!/ v2\.\d+\.\d+/.test(first)) return `it reports '${first}', rtbench needs k6 v2`;
  const missing = EXTENSIONS.filter((e) => !out.includes(e.js)).map((e) => e.js);
  if (missing.length) return `it lacks the extension(s) ${missing.join(', ')}`;
  return null;
}

/** @param {string} name */
function onPath(name) {
  for (const dir of (process.env.PATH || '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

function haveGo() {
  const res = spawnSync('go', ['version'], { encoding: 'utf8' });
  return res.status === 0 ? res.stdout.trim() : null;
}

/**
 * Runs a command, showing its output lines with a prefix and a heartbeat while it is silent.
 * @param {string} cmd @param {string[]} args @param {{ cwd: string, label: string, log: (s: string) => void }} o
 */
function runWithProgress(cmd, args, { cwd, label, log }) {
  const started = Date.now();
  const secs = () => `${Math.round((Date.now() - started) / 1000)}s`;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    let lastLine = Date.now();
    /** @param {Buffer} chunk */
    const onData = (chunk) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-4000);
      for (const line of text
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)) {
        log(`  [${label} ${secs()}] ${line.replace(/^\S+Z\s+/, '')}`);
        lastLine = Date.now();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const beat = setInterval(() => {
      if (Date.now() - lastLine >= 15000) {
        log(`  [${label} ${secs()}] still working…`);
        lastLine = Date.now();
      }
    }, 5000);
    child.on('error', (err) => {
      clearInterval(beat);
      reject(err);
    });
    child.on('close', (code) => {
      clearInterval(beat);
      if (code === 0) resolve(undefined);
      else reject(new K6Error(`${label} failed (exit ${code}):\n${tail}`));
    });
  });
}

/**
 * Where goTool() puts (or has put) `pkg`: <cache>/go-tools-<key>/<name>, the key covering the
 * module's go.mod, go.sum, its own .go files and the ldflags.
 * @param {string} pkg @param {{ dir?: string, ldflags?: string }} [opts]
 */
export function goToolPath(pkg, { dir = 'tools', ldflags = '' } = {}) {
  const mod = join(root, dir);
  const pins = createHash('sha256')
    .update(readFileSync(join(mod, 'go.mod')))
    .update(readFileSync(join(mod, 'go.sum')));
  for (const file of readdirSync(mod)
    .filter((f) => f.endsWith('.go') && !f.endsWith('_test.go'))
    .sort()) {
    pins.update(file).update(readFileSync(join(mod, file)));
  }
  if (ldflags) pins.update(`ldflags ${ldflags}`);
  return join(cacheDir(), `go-tools-${pins.digest('hex').slice(0, 12)}`, pkg.slice(pkg.lastIndexOf('/') + 1));
}

/**
 * Builds a Go tool into the cache, once per pin set, and returns its path. Tools are pinned as
 * `tool` lines in a go.mod: tools/go.mod for light ones (xk6, grpcurl), or a module of their own
 * under tools/go/<name>/ for one whose dependencies would clash with the rest (pass `dir`); such a
 * module may also hold the tool's own main package (its .go files are part of the cache key).
 * @param {string} pkg e.g. 'go.k6.io/xk6'
 * @param {{ dir?: string, ldflags?: string, log?: (s: string) => void }} [opts] dir: the module folder,
 *   relative to the repo root; ldflags: passed to `go build -ldflags` (e.g. a version stamp)
 */
export async function goTool(pkg, { dir = 'tools', ldflags = '', log = console.error } = {}) {
  const mod = join(root, dir);
  const name = pkg.slice(pkg.lastIndexOf('/') + 1);
  const out = goToolPath(pkg, { dir, ldflags });
  if (existsSync(out)) return out;
  if (!haveGo()) throw new K6Error(`building ${pkg} needs Go 1.25 or newer on PATH`);
  log(`building ${pkg} (pinned in ${dir}/go.mod); once, into ${dirname(out)}`);
  const started = Date.now();
  const partial = `${out}.partial-${process.pid}`;
  try {
    const args = ['build', '-o', partial, ...(ldflags ? ['-ldflags', ldflags] : []), pkg];
    await runWithProgress('go', args, { cwd: mod, label: name, log });
    renameSync(partial, out);
  } finally {
    rmSync(partial, { force: true });
  }
  log(`${name} ready in ${Math.round((Date.now() - started) / 1000)} s`);
  return out;
}

/**
 * Builds the project's k6 into the cache and returns its path.
 * @param {{ force?: boolean, log?: (s: string) => void }} [opts]
 */
export async function buildK6({ force = false, log = console.error } = {}) {
  const target = cachedK6();
  if (!force && existsSync(target)) return target;
  const go = haveGo();
  if (!go) {
    throw new K6Error(
      'rtbench needs k6 v2' +
        (EXTENSIONS.length ? ` with ${EXTENSIONS.map((e) => e.js).join(', ')}` : '') +
        ' and found none it can use.\n' +
        '  Either install Go 1.25 or newer (https://go.dev/dl/, or your package manager) so that rtbench can build it\n' +
        '  with xk6 (`npm run k6:build`), or point K6_BIN at a suitable k6 v2 binary.',
    );
  }
  const started = Date.now();
  log(
    `building k6 ${K6_VERSION}${EXTENSIONS.length ? ` with ${EXTENSIONS.map((e) => e.js).join(', ')}` : ''} (${go}); the first build takes a few minutes`,
  );
  const xk6 = await goTool('go.k6.io/xk6', { log });
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.partial-${process.pid}`;
  const args = ['build', K6_VERSION, '--output', partial];
  for (const ext of EXTENSIONS) args.push('--with', `${ext.module}=./${ext.dir}`);
  try {
    await runWithProgress(xk6, args, { cwd: root, label: 'k6', log });
    renameSync(partial, target);
  } finally {
    rmSync(partial, { force: true });
  }
  const problem = unsuitable(target);
  if (problem) throw new K6Error(`the k6 just built is not suitable: ${problem}`);
  log(`k6 ready in ${Math.round((Date.now() - started) / 1000)} s: ${target}`);
  return target;
}

/**
 * The k6 to use, building it if needed.
 * @param {{ log?: (s: string) => void }} [opts]
 */
export async function ensureK6({ log = console.error } = {}) {
  const explicit = process.env.K6_BIN;
  if (explicit) {
    const problem = unsuitable(explicit);
    if (problem)
      throw new K6Error(`K6_BIN=${explicit} cannot be used: ${problem}. Unset K6_BIN to let rtbench build its own k6.`);
    return explicit;
  }
  const cached = cachedK6();
  if (existsSync(cached)) return cached;
  const system = onPath('k6');
  if (system && !unsuitable(system)) return system;
  if (system) log(`the k6 on PATH (${system}) is not suitable: ${unsuitable(system)}; building rtbench's own`);
  return buildK6({ log });
}

const USAGE = `usage: node tools/k6.mjs <command>
  run-k6 <k6 args>   run the project's k6 (npm run k6 -- run dist/ws-image.js)
  build [--force]    build k6 ${K6_VERSION} with xk6 and rtbench's extensions into the cache
  path               print the path of the project's k6, building it if needed
env: K6_BIN (use this k6), RTBENCH_CACHE_DIR (where builds are cached)`;

async function main() {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === 'run-k6') {
    const bin = await ensureK6();
    const child = spawn(bin, rest, { stdio: 'inherit' });
    for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(sig, () => child.kill(sig));
    child.on('close', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  } else if (cmd === 'build') {
    console.log(await buildK6({ force: rest.includes('--force') }));
  } else if (cmd === 'path') {
    console.log(await ensureK6());
  } else {
    console.error(USAGE);
    process.exit(cmd === '--help' || cmd === '-h' ? 0 : 2);
  }
}

// Run as a command only when this file itself is the entry point (it is also bundled into tests).
if (import.meta.url.endsWith('/tools/k6.mjs') && process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err instanceof K6Error ? `rtbench k6: ${err.message}` : err);
    process.exit(1);
  });
}
