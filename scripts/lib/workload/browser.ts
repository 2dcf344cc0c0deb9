// The browser workloads (scenarios browser and browser-effects): our test page (browser/page.ts,
// at PAGE_URL) in real Chromium through k6/browser, its measurements recorded with client=browser
// (scripts/lib/transport/browser-page.ts).
//   pages    every transport in TRANSPORTS (default sse, ws, socketio, socketio-ws, grpc), PAGES
//            (2) pages at once per VU, COUNT (50) messages at MSG_RATE (20)/s of PAYLOAD_BYTES
//            (64), BUSY (0) ms of main-thread work per frame (tag busy)
//   cap      one page opens STREAMS (7) EventSources to one HTTP/1.1 origin: Chromium allows six
//            connections per origin, so six open and the seventh waits (rtb_streams_open); closing
//            one lets it open (rtb_stream_wait: ms from the page's start to its open)
//   resume   an EventSource feed; ~1 s in the server cuts every subscriber (POST /feed/drop): the
//            browser's EventSource reconnects after the server's `retry` with Last-Event-ID, 0 lost
//   busy     each of TRANSPORTS (here default sse, ws, grpc) with the main thread busy each of
//            BUSY (0,25,50) ms per animation frame: rtb_latency tagged busy=<ms>
//   calls    the official @improbable-eng/grpc-web client in the page makes a unary, a
//            server-streaming and a bidi call through the bridge; logged as `grpc-calls {json}`
// Latency as the page takes it: one-way = page wall clock (performance.timeOrigin +
// performance.now()) when the handler ran − the server's send stamp, one host's clock; Socket.IO
// round trips = performance.now() at emit → at the ack. Both include waiting for the main thread.
import http from 'k6/http';
import { browser } from 'k6/browser';
import { check } from 'k6';
import { Gauge, Trend } from 'k6/metrics';
import { envCount, envString } from '../load/env.ts';
import { PAGE_URL } from '../transport/addresses.ts';
import { authHeaders } from '../transport/auth.ts';
import { TRANSPORTS, pageUrl, record, runPages } from '../transport/browser-page.ts';

/** A comma list of page transports from `name`, each checked. */
function transportsFrom(name: string, fallback: string): string[] {
  const list = envString(name, fallback)
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  for (const t of list)
    if (!TRANSPORTS[t]) throw new Error(`${name}: '${t}' is not one of ${Object.keys(TRANSPORTS).join(', ')}`);
  return list;
}

/** k6/browser runs only in scenarios that ask for a browser: adds that to `name` in `options`. */
export function withBrowser<T extends { scenarios: Record<string, object> }>(options: T, name: string): T {
  (options.scenarios[name] as Record<string, unknown>).options = { browser: { type: 'chromium' } };
  return options;
}

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const origin = PAGE_URL.replace(/^(https?:\/\/[^/]+).*$/, '$1');

// ---- pages: every transport ----

// Settings are read when a scenario asks for them: the two scenarios read BUSY and COUNT differently.
const pageSettings = () => ({
  transports: transportsFrom('TRANSPORTS', Object.keys(TRANSPORTS).join(',')),
  pages: envCount('PAGES', 2, { min: 1, max: 50 }),
  count: envCount('COUNT', 50, { min: 1, max: 100_000 }),
  rate: envCount('MSG_RATE', 20, { min: 1, max: 10_000 }),
  bytes: envCount('PAYLOAD_BYTES', 64, { min: 1, max: 1_000_000 }),
  busy: envCount('BUSY', 0, { min: 0, max: 1000 }),
});

/** The browser scenario's defaults: one empty threshold per transport puts its browser-side latency in the summary. */
export function pagesScenario() {
  const pages = pageSettings();
  const perTransport = Object.fromEntries(
    pages.transports.map((t) => {
      const { protocol, tags } = TRANSPORTS[t]!;
      const selector = { client: 'browser', protocol, ...(tags.transports ? { transports: tags.transports } : {}) };
      return [
        `rtb_latency{${Object.entries(selector)
          .map(([k, v]) => `${k}:${v}`)
          .join(',')}}`,
        [],
      ];
    }),
  );
  return {
    tags: { client: 'browser', payload: `${pages.bytes}B` },
    thresholds: {
      checks: ['rate==1'],
      rtb_messages: ['count>0'],
      rtb_lost: ['count==0'],
      rtb_duplicates: ['count==0'],
      ...perTransport,
    },
  };
}

/** One iteration: each transport's page in `pages.pages` pages at once, recorded. */
export async function pagesIteration(): Promise<void> {
  const pages = pageSettings();
  const timeoutMs = Math.ceil((pages.count / pages.rate) * 1000) + 20_000;
  for (const transport of pages.transports) {
    const params = {
      count: pages.count,
      rate: pages.rate,
      bytes: pages.bytes,
      busy: pages.busy,
      timeoutMs: timeoutMs - 5000,
    };
    const results = await runPages(pageUrl(PAGE_URL, transport, params), pages.pages, timeoutMs);
    for (const r of results) record(transport, r, pages.count, { busy: `${pages.busy}ms` });
  }
}

// ---- browser-only effects ----

const effectSettings = () => ({
  streams: envCount('STREAMS', 7, { min: 1, max: 64 }),
  count: envCount('COUNT', 60, { min: 1, max: 100_000 }),
  rate: envCount('MSG_RATE', 20, { min: 1, max: 10_000 }),
  busy: envString('BUSY', '0,25,50')
    .split(',')
    .map((v) => {
      const ms = Number(v.trim());
      if (!Number.isInteger(ms) || ms < 0 || ms > 1000)
        throw new Error(`BUSY: '${v}' is not a whole number of ms from 0 to 1000`);
      return ms;
    }),
});

const streamsOpen = new Gauge('rtb_streams_open');
const streamWait = new Trend('rtb_stream_wait', true);

export function effectScenario(effect: 'cap' | 'resume' | 'busy' | 'calls') {
  const effects = effectSettings();
  const busyTransports = effect === 'busy' ? transportsFrom('TRANSPORTS', 'sse,ws,grpc') : [];
  const perBusy = effects.busy.flatMap((b) =>
    busyTransports.map((t) => [`rtb_latency{protocol:${TRANSPORTS[t]!.protocol},busy:${b}ms}`, []]),
  );
  return {
    tags: { client: 'browser', effect },
    thresholds: {
      checks: ['rate==1'],
      ...Object.fromEntries(perBusy),
      ...(effect === 'resume' ? { rtb_lost: ['count==0'], rtb_duplicates: ['count==0'] } : {}),
    },
  };
}

type Opened = { rtb: { opened: Array<number | null>; closeStream(i: number): void } };
const openedOf = async (page: import('k6/browser').Page) =>
  JSON.parse(await page.evaluate(() => JSON.stringify((window as unknown as Opened).rtb.opened))) as Array<
    number | null
  >;

/** Seven EventSources on one origin: six open, the seventh waits until one closes. */
export async function cap(): Promise<void> {
  const effects = effectSettings();
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(pageUrl(PAGE_URL, 'sse', { streams: effects.streams, count: 100_000, rate: 5, timeoutMs: 60_000 }));
    await sleepMs(3000); // time for every stream to open if it can
    const before = await openedOf(page);
    const open = before.filter((t) => t !== null).length;
    streamsOpen.add(open);
    const waiting = before.findIndex((t) => t === null);
    // Close the first stream: its connection goes back to the pool for a waiting one.
    await page.evaluate(() => (window as unknown as Opened).rtb.closeStream(0));
    if (waiting >= 0)
      await page.waitForFunction(
        (i: number) => (window as unknown as Opened).rtb.opened[i] !== null,
        { polling: 50, timeout: 10_000 },
        waiting,
      );
    const after = await openedOf(page);
    if (waiting >= 0 && after[waiting] !== null) streamWait.add(after[waiting]!);
    console.log(
      `streams opened (ms from page start) before a close: ${JSON.stringify(before)}; after: ${JSON.stringify(after)}`,
    );
    const n = effects.streams;
    check(
      { open, waiting, after },
      {
        'six streams open at once on one HTTP/1.1 origin': (x) => x.open === Math.min(6, n),
        'the seventh stream waits': (x) => n <= 6 || (x.waiting === 6 && before.slice(7).every((t) => t === null)),
        'the seventh opens once one closes': (x) => n <= 6 || (x.after[6] !== null && x.after[6]! >= 3000),
      },
    );
  } finally {
    await context.close();
  }
}

/** An EventSource feed cut by the server ~1 s in: it resumes with Last-Event-ID and loses nothing. */
export async function resume(): Promise<void> {
  const effects = effectSettings();
  const channel = `browser-resume-${__VU}-${__ITER}-${Date.now()}`;
  const [r] = await runPages(
    pageUrl(PAGE_URL, 'sse', { channel, count: effects.count, rate: effects.rate }),
    1,
    60_000,
    async () => {
      await sleepMs(1000);
      const res = http.post(`${origin}/feed/drop?channel=${encodeURIComponent(channel)}`, '{}', {
        headers: { 'content-type': 'application/json', ...authHeaders() },
        tags: { control: 'feed' },
      });
      check(res, { 'the server cut the stream': (x) => x.status === 200 && (x.json('dropped') as number) >= 1 });
    },
  );
  record('sse', r!, effects.count);
  check(r!, {
    'EventSource reconnected by itself': (x) => x.reconnects >= 1 && x.connectMs.length >= 2,
    'resumed with Last-Event-ID: 0 lost, 0 duplicates': (x) =>
      x.lost === 0 && x.duplicates === 0 && x.delivered === effects.count,
  });
  console.log(
    `resume: ${r!.reconnects} reconnects, ${r!.delivered} delivered, ${r!.lost} lost, ${r!.duplicates} duplicates, connects ${JSON.stringify(r!.connectMs)}`,
  );
}

/** Each transport's page with its main thread busy each of BUSY ms per frame. */
export async function busy(): Promise<void> {
  const effects = effectSettings();
  for (const ms of effects.busy) {
    for (const t of transportsFrom('TRANSPORTS', 'sse,ws,grpc')) {
      const [r] = await runPages(
        pageUrl(PAGE_URL, t, { count: effects.count, rate: effects.rate, busy: ms }),
        1,
        60_000,
      );
      record(t, r!, effects.count, { busy: `${ms}ms` });
    }
  }
}

/** One call of each kind from the page through the bridge, with the official client. */
export async function calls(): Promise<void> {
  const [r] = await runPages(pageUrl(PAGE_URL, 'grpc-calls', {}), 1, 30_000);
  const c = (r as unknown as { calls?: Record<string, { code: number; responses: string[] }> }).calls ?? {};
  check(c, {
    'unary, server-streaming and bidi calls end OK': (x) =>
      ['Echo', 'SubscribeOrders', 'EchoStream'].every((m) => x[m]?.code === 0),
    'every call answered': (x) =>
      x.Echo?.responses.length === 1 &&
      x.SubscribeOrders?.responses.length === 5 &&
      x.EchoStream?.responses.length === 3,
  });
  console.log(`grpc-calls ${JSON.stringify(c)}`);
}
