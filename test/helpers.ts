// Shared by the test suites (the harness itself lives in tools/harness.mjs, shared with npm start).
export { startServers, runK6, checksOf, k6Bin, type Servers, type K6Run } from '../tools/harness.mjs';
export { dist, root } from '../tools/paths.mjs';
import assert from 'node:assert/strict';
import { checksOf, type K6Run } from '../tools/harness.mjs';

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
