// The same workloads as a browser page sees them (issue: what a browser sees): real Chromium,
// driven by k6/browser, loading our test page (browser/page.ts, served at /browser/) once per
// transport in PAGES pages per VU at once (one browser context per VU and transport: k6/browser
// allows one open context per VU; the pages share it as tabs share a profile), and recording what each page measured
// into the usual metrics (rtb_latency, rtb_connect_time, rtb_messages, rtb_lost, rtb_duplicates,
// rtb_errors) tagged client=browser, protocol (sse, ws, socketio, grpc-ws) and measure:
//   sse          the feed over EventSource                  measure=oneway
//   ws           the feed over WebSocket                    measure=oneway
//   socketio     echo with socket.io-client, polling → upgrade (tag transports=polling+websocket)
//   socketio-ws  echo with socket.io-client, websocket only (transports=websocket)   measure=rtt
//   grpc         SubscribeOrders through the bridge, @improbable-eng/grpc-web WebsocketTransport
// one-way = page wall clock (performance.timeOrigin + performance.now()) when the handler ran −
// the server's send stamp; rtt = performance.now() at emit → at the ack (browser/page.ts).
// Settings: TRANSPORTS (comma list, default all five), PAGES (2), COUNT (messages per page,
// 50), MSG_RATE (per s, 20), PAYLOAD_BYTES (64), BUSY (ms of main-thread work per frame, 0; tag
// busy), PAGE_URL (http://127.0.0.1:8080/browser/); the VU ramp as for every scenario.
// Needs Chromium: K6_BROWSER_EXECUTABLE_PATH=/usr/bin/chromium K6_BROWSER_ARGS=no-sandbox
//   k6 run -e ITERATIONS=1 dist/browser.js
//   k6 run -e TRANSPORTS=sse,ws -e BUSY=50 dist/browser.js
import { scenarioOptions } from './lib/load/options.ts';
import { envCount, envString } from './lib/load/env.ts';
import { TRANSPORTS, pageUrl, record, runPages } from './lib/transport/browser-page.ts';

const transports = envString('TRANSPORTS', Object.keys(TRANSPORTS).join(','))
  .split(',')
  .map((t) => t.trim())
  .filter(Boolean);
for (const t of transports) if (!TRANSPORTS[t]) throw new Error(`TRANSPORTS: '${t}' is not one of ${Object.keys(TRANSPORTS).join(', ')}`);
const PAGES = envCount('PAGES', 2, { min: 1, max: 50 });
const COUNT = envCount('COUNT', 50, { min: 1, max: 100_000 });
const RATE = envCount('MSG_RATE', 20, { min: 1, max: 10_000 });
const BYTES = envCount('PAYLOAD_BYTES', 64, { min: 1, max: 1_000_000 });
const BUSY = envCount('BUSY', 0, { min: 0, max: 1000 });
const PAGE_URL = envString('PAGE_URL', 'http://127.0.0.1:8080/browser/');
const PAGE_TIMEOUT_MS = Math.ceil((COUNT / RATE) * 1000) + 20_000;

// One empty threshold per transport puts its browser-side latency in the summary export.
const perTransport = Object.fromEntries(
  transports.map((t) => {
    const tags = { client: 'browser', protocol: TRANSPORTS[t]!.protocol, ...(TRANSPORTS[t]!.tags.transports ? { transports: TRANSPORTS[t]!.tags.transports } : {}) };
    return [`rtb_latency{${Object.entries(tags).map(([k, v]) => `${k}:${v}`).join(',')}}`, []];
  }),
);
const base = scenarioOptions('browser', {
  tags: { client: 'browser', payload: `${BYTES}B` },
  thresholds: { checks: ['rate==1'], rtb_messages: ['count>0'], rtb_lost: ['count==0'], rtb_duplicates: ['count==0'], ...perTransport },
});
// k6/browser runs only in scenarios that ask for a browser.
for (const [name, s] of Object.entries(base.scenarios)) {
  if (name === 'browser') (s as Record<string, unknown>).options = { browser: { type: 'chromium' } };
}
export const options = base;

export default async function () {
  for (const transport of transports) {
    const url = pageUrl(PAGE_URL, transport, { count: COUNT, rate: RATE, bytes: BYTES, busy: BUSY, timeoutMs: PAGE_TIMEOUT_MS - 5000 });
    const results = await runPages(url, PAGES, PAGE_TIMEOUT_MS);
    for (const r of results) record(transport, r, COUNT, { busy: `${BUSY}ms` });
  }
}
