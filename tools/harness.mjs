// @ts-check
// Running the real parts: the servers as a child process on free loopback ports, and the
// project's k6 with a summary export. Used by `npm start`, the benchmark and the tests.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureK6 } from './k6.mjs';
import { dist } from './paths.mjs';

/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();
let exitHookSet = false;

/**
 * Kills `proc` (SIGKILL) if it is still running when this process exits, however it exits
 * (normal end, process.exit, an uncaught error). Returns `proc`.
 * @template {import('node:child_process').ChildProcess} P @param {P} proc @returns {P}
 */
export function killOnExit(proc) {
  if (!exitHookSet) {
    exitHookSet = true;
    process.on('exit', () => {
      for (const child of children) {
        try {
          child.kill('SIGKILL');
        } catch {
          /* already gone */
        }
      }
    });
  }
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

/**
 * How a process ended, for messages: 'SIGKILL' or 'code 1'.
 * @param {number | null} code @param {NodeJS.Signals | null} signal
 */
export const howItEnded = (code, signal) => (signal ? signal : `code ${code}`);

/**
 * @typedef {object} Servers
 * @property {import('node:child_process').ChildProcess} proc
 * @property {string} httpUrl       e.g. http://127.0.0.1:40123
 * @property {(path: string) => string} wsUrl
 * @property {string} grpcAddr      e.g. 127.0.0.1:40124
 * @property {() => string} output  everything the servers printed so far
 * @property {() => Promise<number | null>} stop  SIGTERM (SIGKILL after 10 s), then the exit code (null if killed)
 * @property {() => Record<string, string>} env   the -e address settings for every scenario (WS_URL is the ws:// origin)
 */

/**
 * `cmd args`, or with `raise` the same run by /bin/sh after raising its soft open-file limit to
 * the hard limit (a child inherits it; exec keeps the process id), and with `niceness` > 0 at
 * that lower CPU priority (coreutils' nice, before the process starts a thread: every thread
 * inherits it).
 * @param {string} cmd @param {string[]} args @param {boolean} raise @param {number} [niceness]
 * @returns {[string, string[]]}
 */
function command(cmd, args, raise, niceness = 0) {
  const niced = niceness > 0 ? ['nice', '-n', String(niceness), cmd, ...args] : [cmd, ...args];
  return raise
    ? ['/bin/sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', ...niced]]
    : [niced[0], niced.slice(1)];
}

/**
 * Starts dist/servers/main.js on free loopback ports; resolves once it prints `ready`. `env` is
 * added to the servers' environment (e.g. a test-only knob or a raised bound); `raiseFileLimit` raises their open-file limit to the hard limit.
 * @param {string[]} [args] @param {number} [timeoutMs]
 * @param {{ env?: Record<string, string>, raiseFileLimit?: boolean }} [opts]
 * @returns {Promise<Servers>}
 */
export function startServers(args = [], timeoutMs = 15_000, { env = {}, raiseFileLimit = false } = {}) {
  const [cmd, argv] = command(
    process.execPath,
    ['--enable-source-maps', join(dist, 'servers', 'main.js'), '--http-port', '0', '--grpc-port', '0', ...args],
    raiseFileLimit,
  );
  const proc = killOnExit(spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }));
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  /** @type {Promise<number | null>} */
  const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`servers did not print 'ready' within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`servers (pid ${proc.pid}) exited with ${howItEnded(code, signal)} before ready:\n${out}`));
    });
    proc.stdout.on('data', () => {
      if (!/^ready$/m.test(out)) return;
      clearTimeout(timer);
      const http = /^http\s+(http:\/\/\S+)/m.exec(out)?.[1];
      const grpc = /^grpc\s+(\S+)/m.exec(out)?.[1] ?? '';
      if (!http) return reject(new Error(`no http address in:\n${out}`));
      /** @param {string} path */
      const wsUrl = (path) => http.replace(/^http/, 'ws') + path;
      resolve({
        proc,
        httpUrl: http,
        wsUrl,
        grpcAddr: grpc,
        output: () => out,
        stop: async () => {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
          const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000); // graceful shutdown is bounded too
          const code = await exited;
          clearTimeout(killer);
          return code;
        },
        // One address per protocol, as every scenario reads them (each appends its own path).
        env: () => ({
          WS_URL: wsUrl(''),
          SSE_URL: `${http}/sse`,
          SOCKETIO_URL: http,
          GRPC_ADDR: grpc,
          STATS_URL: `${http}/stats`,
          PAGE_URL: `${http}/browser/`,
        }),
      });
    });
  });
}

/** @type {Promise<string> | undefined} */
let k6;
/** The project's k6, built on first use and cached outside the clone. */
export function k6Bin() {
  return (k6 ??= ensureK6());
}

/**
 * @typedef {object} K6Run
 * @property {number | null} code
 * @property {string} stdout
 * @property {string} stderr
 * @property {any} summary   k6's --summary-export JSON, when the run got that far
 * @property {string} dir    a temp folder holding summary.json and anything else the run wrote
 */

/**
 * Runs the real k6 on dist/<script> with -e settings and extra k6 arguments. k6 runs in the
 * run's folder, so relative paths in `args` and env (--out json=points.json, a config file
 * written by `prepare`) land there.
 * `signal`: when it aborts, k6 is killed and the run rejects with the signal's reason (the tests
 * abort when a server or influxd they depend on dies).
 * @param {string} script e.g. 'ws-image.js'
 * @param {Record<string, string>} env
 * `onStart` gets the k6 process once it runs; `raiseFileLimit` raises k6's open-file limit to the hard limit;
 * `niceness` > 0 runs k6 at that lower CPU priority.
 * @param {{ args?: string[], timeoutMs?: number, dir?: string, onLine?: (line: string) => void, prepare?: (dir: string) => void, signal?: AbortSignal, onStart?: (proc: import('node:child_process').ChildProcess) => void, raiseFileLimit?: boolean, niceness?: number }} [opts]
 * @returns {Promise<K6Run>}
 */
export async function runK6(
  script,
  env,
  { args = [], timeoutMs = 600_000, dir, onLine, prepare, signal, onStart, raiseFileLimit = false, niceness = 0 } = {},
) {
  const bin = await k6Bin();
  signal?.throwIfAborted();
  // absolute: k6 runs in this folder, so a relative one would not find itself from there
  const outDir = resolve(dir ?? mkdtempSync(join(tmpdir(), 'rtbench-k6-')));
  prepare?.(outDir);
  const summaryPath = join(outDir, 'summary.json');
  const k6Args = [
    'run',
    '--no-color',
    '--summary-export',
    summaryPath,
    ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    ...args,
    join(dist, script),
  ];
  const [cmd, argv] = command(bin, k6Args, raiseFileLimit, niceness);
  const proc = killOnExit(
    spawn(cmd, argv, {
      cwd: outDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PWD: outDir, K6_NO_USAGE_REPORT: 'true' },
    }),
  );
  onStart?.(proc);
  const abort = () => proc.kill('SIGKILL');
  signal?.addEventListener('abort', abort, { once: true });
  let stdout = '';
  let stderr = '';
  /** @param {string} text */
  const lines = (text) =>
    onLine &&
    text
      .split(/[\r\n]+/)
      .filter(Boolean)
      .forEach(onLine);
  proc.stdout.on('data', (d) => {
    stdout += d;
    lines(String(d));
  });
  proc.stderr.on('data', (d) => {
    stderr += d;
    lines(String(d));
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  /** @type {number | null} */
  const code = await new Promise((resolve) => proc.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  signal?.removeEventListener('abort', abort);
  if (signal?.aborted) throw signal.reason;
  const summary = existsSync(summaryPath) ? JSON.parse(readFileSync(summaryPath, 'utf8')) : null;
  return { code, stdout, stderr, summary, dir: outDir };
}

/**
 * The checks of a summary export as name → {passes, fails}.
 * @param {any} summary @returns {Record<string, { passes: number, fails: number }>}
 */
export function checksOf(summary) {
  /** @type {Record<string, { passes: number, fails: number }>} */
  const out = {};
  /** @param {any} group */
  const walk = (group) => {
    const checks = Array.isArray(group.checks) ? group.checks : Object.values(group.checks ?? {});
    for (const c of checks) {
      const prev = out[c.name] ?? { passes: 0, fails: 0 };
      out[c.name] = { passes: prev.passes + c.passes, fails: prev.fails + c.fails };
    }
    for (const g of Array.isArray(group.groups) ? group.groups : Object.values(group.groups ?? {})) walk(g);
  };
  walk(summary.root_group);
  return out;
}
