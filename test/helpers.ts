// Shared by the test suites: start the real servers as a child process on free ports, run the
// real k6 and read its summary export, and wait for things with a bounded timeout.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureK6, root } from '../tools/k6.mjs';

export { root };
export const dist = join(root, 'dist');

export interface Servers {
  proc: ChildProcess;
  httpUrl: string;
  wsUrl: (path: string) => string;
  grpcAddr: string;
  output: () => string;
  /** SIGTERM and wait for the exit code. */
  stop: () => Promise<number | null>;
}

/** Starts dist/servers/main.js on free loopback ports; resolves once it prints `ready`. */
export function startServers(args: string[] = [], timeoutMs = 15_000): Promise<Servers> {
  const proc = spawn(process.execPath, ['--enable-source-maps', join(dist, 'servers', 'main.js'), '--http-port', '0', '--grpc-port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`servers did not print 'ready' within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`servers exited with ${code} before ready:\n${out}`));
    });
    proc.stdout!.on('data', () => {
      if (!/^ready$/m.test(out)) return;
      clearTimeout(timer);
      const http = /^http\s+(http:\/\/\S+)/m.exec(out)?.[1];
      const grpc = /^grpc\s+(\S+)/m.exec(out)?.[1] ?? '';
      if (!http) return reject(new Error(`no http address in:\n${out}`));
      resolve({
        proc,
        httpUrl: http,
        wsUrl: (path) => http.replace(/^http/, 'ws') + path,
        grpcAddr: grpc,
        output: () => out,
        stop: () => {
          if (proc.exitCode === null) proc.kill('SIGTERM');
          return exited;
        },
      });
    });
  });
}

let k6: Promise<string> | undefined;
/** The project's k6 (built on first use, then cached outside the clone). */
export function k6Bin(): Promise<string> {
  return (k6 ??= ensureK6({ log: (s: string) => console.error(s) }));
}

export interface K6Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** k6's --summary-export JSON, when the run got that far. */
  summary: K6Summary | null;
  dir: string;
}

export interface K6Summary {
  metrics: Record<string, Record<string, number> & { thresholds?: Record<string, boolean> }>;
  root_group: { checks: Record<string, { name: string; passes: number; fails: number }> | Array<{ name: string; passes: number; fails: number }> };
}

/** Runs the real k6 on dist/<script> with -e settings; bounded by `timeoutMs`. */
export async function runK6(script: string, env: Record<string, string>, extraArgs: string[] = [], timeoutMs = 120_000): Promise<K6Run> {
  const bin = await k6Bin();
  const dir = mkdtempSync(join(tmpdir(), 'rtbench-k6-'));
  const summaryPath = join(dir, 'summary.json');
  const args = ['run', '--no-color', '-q', '--summary-export', summaryPath, ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), ...extraArgs, join(dist, script)];
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, K6_NO_USAGE_REPORT: 'true' } });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => proc.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  const summary = existsSync(summaryPath) ? (JSON.parse(readFileSync(summaryPath, 'utf8')) as K6Summary) : null;
  return { code, stdout, stderr, summary, dir };
}

/** The checks of a summary export as name → {passes, fails}. */
export function checksOf(summary: K6Summary): Record<string, { passes: number; fails: number }> {
  const list = Array.isArray(summary.root_group.checks) ? summary.root_group.checks : Object.values(summary.root_group.checks);
  return Object.fromEntries(list.map((c) => [c.name, { passes: c.passes, fails: c.fails }]));
}
