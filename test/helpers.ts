// Shared by the test suites (the harness itself lives in tools/harness.mjs, shared with npm start).
export { startServers, checksOf, k6Bin, type Servers, type K6Run } from '../tools/harness.mjs';
export { dist, root } from '../tools/paths.mjs';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach } from 'node:test';
import {
  checksOf,
  howItEnded,
  k6Bin,
  killOnExit,
  runK6 as harnessRunK6,
  startServers,
  type K6Run,
  type Servers,
} from '../tools/harness.mjs';
import { startInflux, type Influx } from '../tools/influx.mjs';
import { dist } from '../tools/paths.mjs';

/** Abort signals of the suites now running (between their `before` and `after`): a run aborts when one does. */
const activeSuites = new Set<AbortSignal>();

/** One signal that aborts when any of `signals` does, with its reason. */
function anyOf(signals: AbortSignal[]): AbortSignal | undefined {
  if (signals.length <= 1) return signals[0];
  const controller = new AbortController();
  for (const s of signals) {
    if (s.aborted) controller.abort(s.reason);
    else s.addEventListener('abort', () => controller.abort(s.reason), { once: true });
  }
  return controller.signal;
}

/** The signal a run in the current suite(s) should stop on, combined with the caller's own. */
export const suiteSignal = (own?: AbortSignal) => anyOf([...activeSuites, ...(own ? [own] : [])]);

/**
 * The real k6 (tools/harness.mjs runK6), killed at once, with the reason, if a server or influxd
 * the suite started dies while it runs.
 */
export function runK6(
  script: string,
  env: Record<string, string>,
  opts: Parameters<typeof harnessRunK6>[2] = {},
): Promise<K6Run> {
  return harnessRunK6(script, env, { ...opts, signal: suiteSignal(opts.signal) });
}

/**
 * Runs a command to its end (async, so a suite's abort or `timeoutMs` kills it); never rejects on
 * the exit code, only on an abort, whose reason it rejects with.
 */
export async function runCommand(
  cmd: string,
  args: string[],
  { env, cwd, timeoutMs = 300_000 }: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }> {
  const signal = suiteSignal();
  signal?.throwIfAborted();
  const started = Date.now();
  const proc = killOnExit(spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  const kill = () => proc.kill('SIGKILL');
  const timer = setTimeout(kill, timeoutMs);
  signal?.addEventListener('abort', kill, { once: true });
  const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    proc.on('close', (c, s) => resolve([c, s])),
  );
  clearTimeout(timer);
  signal?.removeEventListener('abort', kill);
  if (signal?.aborted) throw signal.reason;
  return { code, signal: sig, stdout, stderr, ms: Date.now() - started };
}

/** A servers process of a suite: its extra arguments, or those and extra environment variables. */
export type ServersSpec = string[] | { args: string[]; env: Record<string, string> };

export type SuiteParts<N extends string> = { [K in N]: Servers } & {
  /** The suite's influxd (when asked for with `influx: true`). */
  influx: Influx;
  /** Aborts, with an Error naming the process, when a server or influxd of this suite dies before `after`. */
  signal: AbortSignal;
};

/**
 * What a suite (a test file, or the describe() it is called in) runs against, started in its
 * `before` and always stopped in its `after`:
 *  - `servers`: one servers process per name, with extra arguments, e.g. `{ servers: [], small: ['--max-message-bytes', '2048'] }`
 *    (or `{ args, env }` for extra environment variables too);
 *  - `influx`: a throwaway influxd (tools/influx.mjs); `k6`: the project's k6 built before the first test;
 *  - `setup`: the suite's own preparation once they run (use it, not a second `before`: Node 20
 *    runs a file's top-level `before` hooks side by side).
 * If the setup fails, whatever it had started is stopped before the failure is reported. If a
 * server or influxd dies mid-suite, k6 runs and commands in flight (runK6/runCommand from here) are
 * killed, the test fails with "servers (pid N) exited with SIGKILL …", every later test of the
 * suite fails at once with it, and so does `after`. `after` also fails if a servers process does
 * not shut down cleanly (exit 0 on SIGTERM). Every child is killed if the test process exits.
 */
export function suiteServers<N extends string>(
  servers: Record<N, ServersSpec>,
  {
    influx = false,
    k6 = false,
    setup,
    onStarted,
  }: {
    influx?: boolean;
    k6?: boolean;
    setup?: (parts: SuiteParts<N>) => unknown;
    onStarted?: (what: string, pid: number) => void;
  } = {},
): SuiteParts<N> {
  const controller = new AbortController();
  const parts = { signal: controller.signal } as SuiteParts<N>;
  const running: Array<{ what: string; proc: ChildProcess; stop: () => Promise<unknown> }> = [];
  let stopping = false;

  const watch = (what: string, proc: ChildProcess, stop: () => Promise<unknown>) => {
    running.push({ what, proc, stop });
    onStarted?.(what, proc.pid!);
    proc.once('exit', (code, signal) => {
      if (!stopping)
        controller.abort(
          new Error(`${what} (pid ${proc.pid}) exited with ${howItEnded(code, signal)} in the middle of the suite`),
        );
    });
  };
  const stopAll = async () => {
    stopping = true;
    activeSuites.delete(controller.signal);
    return Promise.all(running.map(async (r) => ({ what: r.what, code: await r.stop() })));
  };

  before(async () => {
    activeSuites.add(controller.signal);
    const jobs: Array<Promise<unknown>> = Object.entries<ServersSpec>(servers).map(async ([name, spec]) => {
      const s = Array.isArray(spec)
        ? await startServers(spec)
        : await startServers(spec.args, undefined, { env: spec.env });
      (parts as Record<string, Servers>)[name] = s;
      watch(name === 'servers' ? 'servers' : `servers '${name}'`, s.proc, s.stop);
    });
    if (influx)
      jobs.push(
        startInflux({ log: (line) => console.error(line) }).then((i) => {
          parts.influx = i;
          watch('influxd', i.proc, i.stop);
        }),
      );
    if (k6) jobs.push(k6Bin());
    const failed = (await Promise.allSettled(jobs)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    try {
      if (failed) throw failed.reason;
      controller.signal.throwIfAborted();
      await setup?.(parts);
    } catch (err) {
      await stopAll();
      throw err;
    }
  });
  beforeEach(() => controller.signal.throwIfAborted());
  after(async () => {
    const died = controller.signal.aborted ? controller.signal.reason : null;
    const stopped = await stopAll();
    if (died) throw died;
    for (const { what, code } of stopped)
      if (what.startsWith('servers')) assert.equal(code, 0, `${what} shut down cleanly on SIGTERM`);
  });
  return parts;
}

/** Runs test/fixtures/suite.fixture.ts as a test run of its own in `mode`; returns its outcome and the "what pid" lines it recorded. */
export async function runFixture(mode: string, extraEnv: Record<string, string> = {}) {
  const pidsFile = join(mkdtempSync(join(tmpdir(), 'rtbench-fixture-')), 'pids');
  const env: NodeJS.ProcessEnv = { ...process.env, FIXTURE: mode, FIXTURE_PIDS: pidsFile, ...extraEnv };
  delete env.NODE_TEST_CONTEXT; // its own test run, not a part of ours
  const res = await runCommand(
    process.execPath,
    ['--enable-source-maps', '--test-reporter=spec', join(dist, 'test', 'fixtures', 'suite.fixture.js')],
    {
      env,
      timeoutMs: 240_000,
    },
  );
  let lines: string[] = [];
  try {
    lines = readFileSync(pidsFile, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    /* nothing was started */
  }
  const pids = lines.map((l) => ({ what: l.split(' ')[0]!, pid: Number(l.split(' ')[1]) }));
  return { ...res, output: res.stdout + res.stderr, pids };
}

/** True while a process with this PID exists. */
export function alive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** k6 exited 0, every named check ran and passed at least once, and no check failed; returns the checks by name. */
export function allChecksPassed(run: K6Run, names: string[]) {
  assert.equal(run.code, 0, `k6 exited ${run.code}:\n${run.stderr.slice(-3000)}`);
  const checks = checksOf(run.summary);
  for (const name of names) {
    assert.ok(checks[name], `check '${name}' ran (ran: ${Object.keys(checks).join(', ')})`);
    assert.ok(checks[name]!.passes > 0, `check '${name}' passed`);
  }
  for (const [name, c] of Object.entries(checks)) assert.equal(c.fails, 0, `check '${name}' failed ${c.fails} times`);
  return checks;
}

/** Resolves when `fn` returns truthy, polling every 50 ms; rejects after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
