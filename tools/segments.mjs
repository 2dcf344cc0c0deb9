// @ts-check
// One scenario as N k6 processes on this machine, split the way k6-operator splits a TestRun
// with `parallelism: N`: runner i of N (1-based) gets
//   --execution-segment=<(i-1)/N>:<i/N> --execution-segment-sequence=0,1/N,…,(N-1)/N,1
// (0 and 1 written as such), starts `--paused` with its REST API on its own loopback port, and
// is resumed once every runner is up, so all start together. Each writes its summary export and
// its raw samples (k6 --out json), which tools/merge.mjs merges into one result.
//
// Used by `npm start -- --segments N` and the tests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runK6 } from './harness.mjs';
import { freePort } from './influx.mjs';
import { POINTS_FILE, formatThresholds, mergeDirs } from './merge.mjs';

/**
 * The segment flags k6-operator gives runner `index` (1-based) of `total`.
 * @param {number} index @param {number} total @returns {string[]}
 */
export function segmentArgs(index, total) {
  if (!Number.isInteger(total) || total < 1)
    throw new Error(`segments: '${total}' is not a whole number of runners ≥ 1`);
  if (!Number.isInteger(index) || index < 1 || index > total)
    throw new Error(`segments: runner ${index} is outside 1..${total}`);
  /** @param {number} i */
  const at = (i) => (i === 0 ? '0' : i === total ? '1' : `${i}/${total}`);
  const sequence = Array.from({ length: total + 1 }, (_, i) => at(i)).join(',');
  return [`--execution-segment=${at(index - 1)}:${at(index)}`, `--execution-segment-sequence=${sequence}`];
}

/** @param {string} base @param {string} path @param {object} [body] */
async function rest(base, path, body) {
  const res = await fetch(`${base}${path}`, {
    method: body ? 'PATCH' : 'GET',
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return /** @type {any} */ (await res.json());
}

/** @param {boolean} paused @param {boolean} [stopped] */
const status = (paused, stopped) => ({
  data: { type: 'status', id: 'default', attributes: { paused, ...(stopped ? { stopped } : {}) } },
});

/**
 * @typedef {object} SegmentedRun
 * @property {number | null} code    0, or 99 if a threshold fails on the merged result, or the first runner's failure code
 * @property {any} summary           the merged summary (k6 --summary-export shape), null if a runner left none
 * @property {import('./merge.mjs').ThresholdResult[]} thresholds  every threshold, evaluated on the merged result
 * @property {import('./harness.mjs').K6Run[]} runners
 * @property {number} resumeSpreadMs how far apart the runners were resumed
 * @property {number} startedAt      when the first runner was resumed (ms since the epoch), 0 if none was
 * @property {string} stdout
 * @property {string} stderr
 * @property {string} dir
 */

/**
 * Runs dist/<script> as `segments` k6 processes started together, then merges them. The run's
 * folder gets runner-<i>/ per runner, summary.json (merged) and thresholds.txt.
 * @param {string} script @param {Record<string, string>} env
 * @param {{ segments: number, dir: string, args?: string[], timeoutMs?: number, readyTimeoutMs?: number, onLine?: (line: string) => void }} opts
 * @returns {Promise<SegmentedRun>}
 */
export async function runSegmented(
  script,
  env,
  { segments, dir, args = [], timeoutMs = 600_000, readyTimeoutMs = 60_000, onLine },
) {
  segmentArgs(1, segments);
  const ports = await Promise.all(Array.from({ length: segments }, () => freePort()));
  const bases = ports.map((p) => `http://127.0.0.1:${p}`);
  /** @type {Array<boolean>} */
  const exited = ports.map(() => false);
  const runs = ports.map((port, i) => {
    const runnerDir = join(dir, `runner-${i + 1}`);
    mkdirSync(runnerDir, { recursive: true });
    const runnerArgs = [
      ...(segments > 1 ? segmentArgs(i + 1, segments) : []), // k6-operator gives one runner no segment flags
      '--paused',
      `--address=127.0.0.1:${port}`,
      '--tag',
      `instance_id=${i + 1}`,
      '--out',
      `json=${POINTS_FILE}`,
      ...args,
    ];
    return runK6(script, env, {
      dir: runnerDir,
      args: runnerArgs,
      timeoutMs,
      onLine: onLine && ((line) => onLine(`[runner ${i + 1}] ${line}`)),
    }).finally(() => {
      exited[i] = true;
    });
  });
  // Every runner up and paused (its init done), then all resumed at once, as k6-operator's starter does.
  let resumeSpreadMs = 0;
  let startedAt = 0;
  const until = Date.now() + readyTimeoutMs;
  const ready = bases.map(() => false);
  while (ready.some((r) => !r) && !exited.some(Boolean) && Date.now() < until) {
    await Promise.all(
      bases.map(async (b, i) => {
        if (!ready[i])
          ready[i] = await rest(b, '/v1/status').then(
            (s) => s.data.attributes.paused === true,
            () => false,
          );
      }),
    );
    if (ready.some((r) => !r)) await new Promise((r) => setTimeout(r, 100));
  }
  let resumed = false;
  if (ready.every(Boolean)) {
    try {
      const times = await Promise.all(bases.map((b) => rest(b, '/v1/status', status(false)).then(() => Date.now())));
      resumeSpreadMs = Math.max(...times) - Math.min(...times);
      startedAt = Math.min(...times);
      resumed = true;
    } catch {
      // a runner did not take the resume: stopped below with the rest
    }
  }
  if (!resumed) {
    // One runner failed to start (or the wait ran out): stop the others instead of leaving them paused.
    await Promise.all(
      bases.map((b, i) => (exited[i] ? null : rest(b, '/v1/status', status(false, true)).catch(() => null))),
    );
  }
  const results = await Promise.all(runs);
  const stdout = results.map((r, i) => `── runner ${i + 1}\n${r.stdout}`).join('\n');
  const stderr = results.map((r, i) => `── runner ${i + 1}\n${r.stderr}`).join('\n');
  // k6 exits 99 when its own slice crosses a threshold: the merged verdict replaces that.
  const broken = results.find((r) => (r.code !== 0 && r.code !== 99) || r.summary === null);
  if (!resumed || broken) {
    const why = broken
      ? `runner ${results.indexOf(broken) + 1} failed (exit ${broken.code})`
      : `not every runner was ready and resumed within ${readyTimeoutMs} ms`;
    return {
      code: broken?.code || 1,
      summary: null,
      thresholds: [],
      runners: results,
      resumeSpreadMs,
      startedAt,
      stdout,
      stderr: `${stderr}\nsegments: ${why}`,
      dir,
    };
  }
  const merged = await mergeDirs(results.map((r) => r.dir));
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(merged.summary, null, 2));
  writeFileSync(join(dir, 'thresholds.txt'), formatThresholds(merged.thresholds) + '\n');
  const verdict = `merged thresholds (${segments} runners):\n${formatThresholds(merged.thresholds)}`;
  return {
    code: merged.failed ? 99 : 0,
    summary: merged.summary,
    thresholds: merged.thresholds,
    runners: results,
    resumeSpreadMs,
    startedAt,
    stdout,
    stderr: `${stderr}\n${verdict}`,
    dir,
  };
}
