// What only a browser does, measured in real Chromium through k6/browser on our test page
// (browser/page.ts). EFFECT chooses one:
//   cap      one page opens STREAMS (7) EventSources to one HTTP/1.1 origin: Chromium allows six
//            connections per origin, so six open and the seventh waits (rtb_streams_open, the
//            check 'the seventh stream waits'); closing one lets it open (its wait in
//            rtb_stream_wait, from the page's start)
//   resume   an EventSource feed; after ~1 s the server cuts every subscriber (POST /feed/drop):
//            the browser's own EventSource reconnects after the server's `retry` and resumes
//            with Last-Event-ID; checks: reconnected, 0 lost, 0 duplicates
//   busy     each transport in TRANSPORTS (sse,ws,grpc) with the page's main thread busy BUSY
//            (0,25,50) ms in every animation frame: rtb_latency tagged busy=<ms>
// Latency as in browser.ts (page wall clock − server send stamp; Socket.IO round trips).
// Needs Chromium: K6_BROWSER_EXECUTABLE_PATH=/usr/bin/chromium K6_BROWSER_ARGS=no-sandbox
//   k6 run -e ITERATIONS=1 -e EFFECT=cap dist/browser-effects.js
import http from 'k6/http';
import { check } from 'k6';
import { Gauge, Trend } from 'k6/metrics';
import { scenarioOptions } from './lib/load/options.ts';
import { envChoice, envCount, envString } from './lib/load/env.ts';
import { TRANSPORTS, pageUrl, record, runPages } from './lib/transport/browser-page.ts';
import { browser } from 'k6/browser';

const EFFECT = envChoice('EFFECT', 'cap', ['cap', 'resume', 'busy'] as const);
const PAGE_URL = envString('PAGE_URL', 'http://127.0.0.1:8080/browser/');
const STREAMS = envCount('STREAMS', 7, { min: 1, max: 64 });
const COUNT = envCount('COUNT', 60, { min: 1, max: 100_000 });
const RATE = envCount('MSG_RATE', 20, { min: 1, max: 10_000 });
const BUSY = envString('BUSY', '0,25,50').split(',').map((v) => {
  const ms = Number(v.trim());
  if (!Number.isInteger(ms) || ms < 0 || ms > 1000) throw new Error(`BUSY: '${v}' is not a whole number of ms from 0 to 1000`);
  return ms;
});
const BUSY_TRANSPORTS = envString('TRANSPORTS', 'sse,ws,grpc').split(',').map((t) => t.trim());
for (const t of BUSY_TRANSPORTS) if (!TRANSPORTS[t]) throw new Error(`TRANSPORTS: '${t}' is not one of ${Object.keys(TRANSPORTS).join(', ')}`);

const streamsOpen = new Gauge('rtb_streams_open');
const streamWait = new Trend('rtb_stream_wait', true);

const base = scenarioOptions('browser-effects', {
  tags: { client: 'browser', effect: EFFECT },
  thresholds: {
    checks: ['rate==1'],
    ...(EFFECT === 'busy' ? Object.fromEntries(BUSY.flatMap((b) => BUSY_TRANSPORTS.map((t) => [`rtb_latency{protocol:${TRANSPORTS[t]!.protocol},busy:${b}ms}`, []]))) : {}),
    ...(EFFECT === 'resume' ? { rtb_lost: ['count==0'], rtb_duplicates: ['count==0'] } : {}),
  },
});
for (const [name, s] of Object.entries(base.scenarios)) {
  if (name === 'browser-effects') (s as Record<string, unknown>).options = { browser: { type: 'chromium' } };
}
export const options = base;

const origin = PAGE_URL.replace(/^(https?:\/\/[^/]+).*$/, '$1');
const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function cap(): Promise<void> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(pageUrl(PAGE_URL, 'sse', { streams: STREAMS, count: 100_000, rate: 5, timeoutMs: 60_000 }));
    // Give every stream time to open if it can.
    await sleepMs(3000);
    const before = JSON.parse(await page.evaluate(() => JSON.stringify((window as unknown as { rtb: { opened: Array<number | null> } }).rtb.opened))) as Array<number | null>;
    const open = before.filter((t) => t !== null).length;
    streamsOpen.add(open);
    const waiting = before.findIndex((t) => t === null);
    // Close the first stream: its connection goes back to the pool for a waiting one.
    await page.evaluate(() => (window as unknown as { rtb: { closeStream(i: number): void } }).rtb.closeStream(0));
    await page.waitForFunction((i: number) => (window as unknown as { rtb: { opened: Array<number | null> } }).rtb.opened[i] !== null, { polling: 50, timeout: 10_000 }, waiting);
    const after = JSON.parse(await page.evaluate(() => JSON.stringify((window as unknown as { rtb: { opened: Array<number | null> } }).rtb.opened))) as Array<number | null>;
    if (waiting >= 0 && after[waiting] !== null) streamWait.add(after[waiting]!);
    console.log(`streams opened (ms from page start) before a close: ${JSON.stringify(before)}; after: ${JSON.stringify(after)}`);
    check({ open, waiting, after }, {
      'six streams open at once on one HTTP/1.1 origin': (x) => x.open === Math.min(6, STREAMS),
      'the seventh stream waits': (x) => STREAMS <= 6 || (x.waiting === 6 && before.slice(7).every((t) => t === null)),
      'the seventh opens once one closes': (x) => STREAMS <= 6 || (x.after[6] !== null && x.after[6]! >= 3000),
    });
  } finally {
    await context.close();
  }
}

async function resume(): Promise<void> {
  const channel = `browser-resume-${__VU}-${__ITER}-${Date.now()}`;
  const [r] = await runPages(pageUrl(PAGE_URL, 'sse', { channel, count: COUNT, rate: RATE }), 1, 60_000, async () => {
    await sleepMs(1000);
    const res = http.post(`${origin}/feed/drop?channel=${encodeURIComponent(channel)}`, null, { tags: { control: 'feed' } });
    check(res, { 'the server cut the stream': (x) => x.status === 200 && (x.json('dropped') as number) >= 1 });
  });
  record('sse', r!, COUNT);
  check(r!, {
    'EventSource reconnected by itself': (x) => x.reconnects >= 1 && x.connectMs.length >= 2,
    'resumed with Last-Event-ID: 0 lost, 0 duplicates': (x) => x.lost === 0 && x.duplicates === 0 && x.delivered === COUNT,
  });
  console.log(`resume: ${r!.reconnects} reconnects, ${r!.delivered} delivered, ${r!.lost} lost, ${r!.duplicates} duplicates, connects ${JSON.stringify(r!.connectMs)}`);
}

async function busy(): Promise<void> {
  for (const ms of BUSY) {
    for (const t of BUSY_TRANSPORTS) {
      const [r] = await runPages(pageUrl(PAGE_URL, t, { count: COUNT, rate: RATE, busy: ms }), 1, 60_000);
      record(t, r!, COUNT, { busy: `${ms}ms` });
    }
  }
}

export default async function () {
  await { cap, resume, busy }[EFFECT]();
}
