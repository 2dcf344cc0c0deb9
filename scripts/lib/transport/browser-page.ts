// The browser test page (browser/page.ts, served at /browser/) driven by k6/browser: opens it in
// several pages at once, waits for `window.rtb.done` and records what each page measured into the
// metrics every scenario uses, tagged client=browser (set on the scenario) and with the page's
// protocol and `measure`.
import { browser, type Page } from 'k6/browser';
import { check } from 'k6';
import { TOKEN } from './auth.ts';
import type { PageResults } from '../../../contracts/browser-page.ts';
import { connectTime, delivered, duplicates, errors, latency, lost, payloadBytes } from '../monitor/metrics.ts';

/** Each page transport's `protocol` tag (the same values as the k6-client scenarios) and extra tags. */
export const TRANSPORTS: Record<string, { protocol: string; tags: Record<string, string> }> = {
  sse: { protocol: 'sse', tags: { pattern: 'push' } },
  ws: { protocol: 'ws', tags: { pattern: 'push' } },
  socketio: { protocol: 'socketio', tags: { pattern: 'echo', transports: 'polling+websocket' } },
  'socketio-ws': { protocol: 'socketio', tags: { pattern: 'echo', transports: 'websocket' } },
  grpc: { protocol: 'grpc-ws', tags: { pattern: 'push' } },
};

/** The page URL for `transport` with `params` (count, rate, bytes, busy, streams, channel, timeoutMs). */
export function pageUrl(base: string, transport: string, params: Record<string, string | number>): string {
  const query = Object.entries({ transport, ...params, ...(TOKEN ? { token: TOKEN } : {}) })
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join('&');
  return `${base}?${query}`;
}

/** Waits until the page says it is done (its own timeout ends it too), then returns window.rtb. */
export async function pageResults(page: Page, timeoutMs: number): Promise<PageResults> {
  await page.waitForFunction(() => (window as unknown as { rtb?: PageResults }).rtb?.done === true, {
    polling: 100,
    timeout: timeoutMs,
  });
  return JSON.parse(
    await page.evaluate(() => JSON.stringify((window as unknown as { rtb: PageResults }).rtb)),
  ) as PageResults;
}

/**
 * Opens `url` in `pages` pages of one fresh browser context (k6/browser allows one open context
 * per VU: "existing browser context must be closed before creating a new one"), so the pages run
 * at once and share that profile's connections, as tabs do; `during` may act on each page while
 * it runs. Resolves with each page's results; the context is closed however it ends.
 */
export async function runPages(
  url: string,
  pages: number,
  timeoutMs: number,
  during?: (page: Page, i: number) => Promise<void>,
): Promise<PageResults[]> {
  const context = await browser.newContext();
  try {
    const open: Page[] = [];
    for (let i = 0; i < pages; i++) {
      const page = await context.newPage();
      await page.goto(url);
      open.push(page);
    }
    return await Promise.all(
      open.map(async (page, i) => {
        if (during) await during(page, i);
        return pageResults(page, timeoutMs);
      }),
    );
  } finally {
    await context.close();
  }
}

/** Records one page's results under `transport`'s tags plus `extra`; checks what came back. */
export function record(
  transport: string,
  r: PageResults,
  expected: number,
  extra: Record<string, string> = {},
): boolean {
  const t = TRANSPORTS[transport]!;
  const tags = { protocol: t.protocol, measure: r.measure, ...t.tags, ...extra };
  for (const ms of r.latencies) latency.add(ms, tags);
  for (const ms of r.connectMs) connectTime.add(ms, tags);
  delivered.add(r.delivered, tags);
  payloadBytes.add(r.payloadBytes, tags);
  lost.add(r.lost, tags);
  duplicates.add(r.duplicates, tags);
  for (const e of r.errors) errors.add(1, { ...tags, reason: `page: ${e}`.slice(0, 120) });
  return check(
    r,
    {
      'page delivered every message': (x) => x.delivered === expected,
      'page saw no loss and no duplicates': (x) => x.lost === 0 && x.duplicates === 0,
      'page reported no errors': (x) => x.errors.length === 0,
      'page latencies are positive': (x) => x.latencies.length > 0 && x.latencies.every((ms) => ms >= 0),
    },
    tags,
  );
}
