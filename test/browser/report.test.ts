// The report as a person sees it: a real short `npm start`, then its report.html opened offline
// in real headless Chromium (an optional extra: `npm run test:browser`, which says what to
// install when Chromium is missing). No console errors, no request leaving the page, every
// chart drawn with the run's numbers, and a screenshot that is not blank; then one k6 web-dashboard
// export opened the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import { chromium as playwright, type Browser, type Page } from 'playwright-core';
import { k6Bin, root } from '../helpers.ts';
import { chromium } from '../../tools/chromium.mjs';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** How many distinct colours a PNG holds (8-bit RGB or RGBA, not interlaced): a blank page has one. */
function distinctColours(png: Buffer): number {
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length;) {
    const len = png.readUInt32BE(at);
    const type = png.subarray(at + 4, at + 8).toString('latin1');
    const body = png.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      assert.equal(body[8], 8, '8-bit PNG');
      channels = ({ 2: 3, 6: 4 } as Record<number, number>)[body[9]!]!;
      assert.ok(channels, `colour type ${body[9]}`);
      assert.equal(body[12], 0, 'not interlaced');
    } else if (type === 'IDAT') idat.push(body);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x]!;
      const a = x >= channels ? out[y * stride + x - channels]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a),
        pb = Math.abs(p - b),
        pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter]!;
      out[y * stride + x] = (v + pred) & 0xff;
    }
  }
  const colours = new Set<number>();
  for (let i = 0; i < out.length && colours.size < 1000; i += channels) colours.add(out.readUIntBE(i, 3));
  return colours.size;
}

/** Opens a page offline; records console errors, page errors and any request that is not file:. */
async function open(browser: Browser, file: string) {
  const context = await browser.newContext({ offline: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    requests.push(url);
    return route.abort();
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, errors, requests, close: () => context.close() };
}

test('report.html opens offline in headless Chromium with its charts drawn and no console errors', async () => {
  const bin = chromium();
  assert.ok(bin, 'Chromium (npm run test:browser checks this before running)');
  await k6Bin();
  const results = mkdtempSync(join(tmpdir(), 'rtbench-browser-'));
  const run = spawnSync(
    process.execPath,
    [
      join(root, 'tools', 'start.mjs'),
      '--only',
      'ws-echo,socketio',
      '--repeats',
      '2',
      '--duration',
      '2s',
      '--results',
      results,
    ],
    { encoding: 'utf8', timeout: 300_000 },
  );
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const html = readFileSync(join(results, 'report.html'), 'utf8');
  const data = JSON.parse(/<script id="rtb-data" type="application\/json">(.*?)<\/script>/s.exec(html)![1]!);

  // playwright gives every launch a new, empty profile (its own --user-data-dir)
  const browser = await playwright.launch({ executablePath: bin!, args: FLAGS, timeout: 60_000 });
  try {
    const report = await open(browser, join(results, 'report.html'));
    const page: Page = report.page;
    // every chart exists and holds the run's numbers
    const charts = await page.evaluate(() => {
      const C = (
        globalThis as unknown as {
          Chart: {
            instances: Record<string, { canvas: HTMLCanvasElement; data: { datasets: Array<{ data: unknown[] }> } }>;
          };
        }
      ).Chart;
      return Object.values(C.instances).map((c) => ({
        id: c.canvas.id,
        data: c.data.datasets.map((d) => d.data),
        drawn: c.canvas.width > 0 && c.canvas.height > 0,
      }));
    });
    const echo = data.workloads.find((w: { id: string }) => w.id === 'echo');
    const expected = [`latency-echo`, ...echo.bars.map((b: { key: string }) => `${b.key}-echo`)];
    assert.deepEqual(charts.map((c) => c.id).sort(), expected.sort());
    assert.ok(charts.every((c) => c.drawn));
    const latency = charts.find((c) => c.id === 'latency-echo')!;
    // per protocol: the median line, then the min and max lines of its band (log axis: no zeros)
    const positive = (xs: Array<number | null>) => xs.map((v) => (v !== null && v > 0 ? v : null));
    assert.deepEqual(
      latency.data,
      echo.latency.series.flatMap(
        (s: { values: Array<number | null>; min: Array<number | null>; max: Array<number | null> }) => [
          positive(s.values),
          positive(s.min),
          positive(s.max),
        ],
      ),
    );
    const tput = charts.find((c) => c.id === 'msgsPerSec-echo')!;
    assert.deepEqual(
      tput.data[0],
      echo.bars.find((b: { key: string }) => b.key === 'msgsPerSec').series.map((s: { center: number }) => s.center),
    );
    const text = await page.locator('#verdicts').evaluate((e) => e.nextElementSibling?.textContent ?? '');
    assert.match(text, /echo round trips/);
    const shot = await page.screenshot({ fullPage: true });
    writeFileSync(join(results, 'report.png'), shot);
    const colours = distinctColours(shot);
    assert.ok(
      colours > 50,
      `the screenshot has ${colours} colours (blank pages have 1); saved at ${join(results, 'report.png')}`,
    );
    // the charts' own pixels are not blank either
    const inked = await page.evaluate(() =>
      [...document.querySelectorAll('canvas')].map((c) => {
        const px = (c.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) n++;
        return n;
      }),
    );
    assert.ok(
      inked.every((n) => n > 500),
      `ink per chart: ${inked.join(', ')}`,
    );
    // printable: print media lays the page out without errors
    await page.emulateMedia({ media: 'print' });
    await page.pdf({ path: join(results, 'report.pdf') });
    assert.deepEqual(report.errors, [], 'no console errors');
    assert.deepEqual(report.requests, [], 'no request left the page');
    await report.close();

    // k6's own web-dashboard export, linked from the report, opens offline too
    const dashboard = await open(browser, join(results, 'ws-echo', 'run-1', 'dashboard.html'));
    await dashboard.page.waitForTimeout(1000);
    assert.deepEqual(dashboard.requests, [], 'the k6 dashboard export fetches nothing');
    assert.deepEqual(dashboard.errors, [], 'the k6 dashboard export logs no errors');
    assert.match(await dashboard.page.title(), /k6/i);
    await dashboard.close();
  } finally {
    await browser.close();
  }
  // kept (with report.png) for a look when anything above failed; gone when all passed
  rmSync(results, { recursive: true, force: true });
});
