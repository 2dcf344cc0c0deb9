// Shared by the test suites (the harness itself lives in tools/harness.mjs, shared with npm start).
export { startServers, runK6, checksOf, k6Bin, dist, type Servers, type K6Run } from '../tools/harness.mjs';
export { root } from '../tools/k6.mjs';

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
