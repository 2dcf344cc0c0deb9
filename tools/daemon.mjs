// @ts-check
// Long-running helper processes the harness starts in front of the servers (toxiproxy, Caddy,
// nginx): spawn, wait until they answer, stop them (SIGTERM, then SIGKILL), and free loopback ports.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';

/** A free loopback TCP port (there is a short window in which another process could take it). */
export function freePort() {
  return /** @type {Promise<number>} */ (
    new Promise((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
      });
    })
  );
}

/**
 * @typedef {object} Daemon
 * @property {import('node:child_process').ChildProcess} proc
 * @property {() => string} output   the last few KB it wrote to stdout and stderr
 * @property {() => number[]} pids   its PID and those of its descendants (nginx's workers, say)
 * @property {() => Promise<void>} stop  SIGTERM, then SIGKILL to it and its descendants after `killAfterMs`
 */

/**
 * Each running daemon's PIDs (its own, and its descendants' as of when it answered: nginx's workers
 * outlive a killed master), all SIGKILLed if this process exits without stopping them.
 * @type {Set<number[]>}
 */
const running = new Set();
let exitHookSet = false;
/** @param {number[]} pids */
const killAll = (pids) => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
};

/**
 * Starts `bin args` and resolves once `ready()` resolves true; throws (an `ErrorClass` naming `name`)
 * if the process exits first or does not answer within `timeoutMs`, having stopped it.
 * @param {string} name @param {string} bin @param {string[]} args
 * @param {{ ready: () => Promise<boolean>, env?: NodeJS.ProcessEnv, timeoutMs?: number, killAfterMs?: number,
 *           pollMs?: number, ErrorClass?: new (msg: string) => Error, notReady?: string }} o
 *   notReady: what to say after "did not answer" (e.g. the address it should answer on)
 * @returns {Promise<Daemon>}
 */
export async function startDaemon(
  name,
  bin,
  args,
  { ready, env, timeoutMs = 15_000, killAfterMs = 5000, pollMs = 100, ErrorClass = Error, notReady = '' },
) {
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  /** @type {number[]} */
  const known = proc.pid === undefined ? [] : [proc.pid];
  running.add(known);
  if (!exitHookSet) {
    exitHookSet = true;
    process.on('exit', () => {
      for (const pids of running) killAll(pids);
    });
  }
  let out = '';
  proc.stdout?.on('data', (d) => (out = (out + d).slice(-4000)));
  proc.stderr?.on('data', (d) => (out = (out + d).slice(-4000)));
  /** @type {Promise<void>} */
  const exited = new Promise((resolve) =>
    proc.on('exit', () => {
      running.delete(known);
      resolve();
    }),
  );
  /** @type {Error | null} */
  let spawnError = null;
  proc.on('error', (err) => (spawnError = err));
  const pids = () => (proc.pid === undefined ? [] : [proc.pid, ...descendants(proc.pid)]);
  const stop = async () => {
    const tree = pids();
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const timer = setTimeout(() => killAll(tree), killAfterMs);
    await exited;
    clearTimeout(timer);
  };
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (spawnError) throw new ErrorClass(`${name}: cannot run ${bin}: ${/** @type {Error} */ (spawnError).message}`);
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new ErrorClass(`${name} exited with ${proc.exitCode ?? proc.signalCode} before it answered:\n${out}`);
    if (await ready().catch(() => false)) {
      known.push(...descendants(/** @type {number} */ (proc.pid)));
      break;
    }
    if (Date.now() > until) {
      await stop();
      throw new ErrorClass(`${name} did not answer${notReady ? ` ${notReady}` : ''} within ${timeoutMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return { proc, output: () => out, pids, stop };
}

/**
 * The PIDs of a process's descendants, from /proc (Linux); [] elsewhere.
 * @param {number} pid @returns {number[]}
 */
export function descendants(pid) {
  /** @type {Map<number, number[]>} */
  const children = new Map();
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      /* gone meanwhile */
    }
  }
  /** @type {number[]} */
  const out = [];
  const walk = (/** @type {number} */ p) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/**
 * CPU time (user + system) of a process so far, ms, from /proc (Linux); null elsewhere.
 * @param {number | undefined} pid
 */
export function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], fields[12] = utime, stime (fields 14 and 15 of stat(5)), in clock ticks (100/s on Linux)
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
}

/**
 * CPU time of a process and its live descendants together, ms (nginx: master and workers); null
 * if the process itself cannot be read.
 * @param {number[]} pids the process first, then its descendants
 */
export function treeCpuMs(pids) {
  const own = processCpuMs(pids[0]);
  if (own === null) return null;
  return pids.slice(1).reduce((sum, pid) => sum + (processCpuMs(pid) ?? 0), own);
}
