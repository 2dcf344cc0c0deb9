// Server-side cost: GET /stats answers with sane values under real load (CPU used, memory,
// connections while a run is on, every message and byte counted, for WebSocket and gRPC); the
// monitor scenario samples it into the same k6 run without touching the workload's metrics;
// the comparison table turns it into CPU per 1,000 messages and wire bytes per message.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suiteServers, runK6, type K6Run, type Servers } from '../helpers.ts';
import { between, monitorScenario } from '../../scripts/lib/monitor/server-stats.ts';
import { isServerStats, type ServerStats } from '../../contracts/stats.ts';
import { resolveExecutor } from '../../scripts/lib/load/profiles.ts';
import { comparisonRow, formatTable } from '../../tools/report.mjs';

const IMAGE_BYTES = 545139;

async function stats(s: Servers): Promise<ServerStats> {
  const body: unknown = await (await fetch(`${s.httpUrl}/stats`)).json();
  assert.ok(isServerStats(body), `GET /stats has every field the monitor reads: ${JSON.stringify(body)}`);
  return body;
}

/** Polls /stats every 100 ms while `work` runs; returns every snapshot. */
async function sampled<T>(s: Servers, work: Promise<T>): Promise<{ result: T; snaps: ServerStats[] }> {
  const snaps: ServerStats[] = [await stats(s)];
  let done = false;
  const poller = (async () => {
    while (!done) {
      snaps.push(await stats(s));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const result = await work.finally(() => (done = true));
  await poller;
  snaps.push(await stats(s));
  return { result, snaps };
}

/** The JSON lines of k6's --out json file. */
function points(run: K6Run): Array<{ metric: string; data: { tags: Record<string, string>; value: number } }> {
  return readFileSync(join(run.dir, 'points.json'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"type":"Point"'))
    .map((l) => JSON.parse(l));
}

const snapshot = (over: Partial<ServerStats> = {}): ServerStats => ({
  uptimeMs: 1000,
  cpuUserMs: 100,
  cpuSystemMs: 50,
  rssBytes: 5e7,
  heapUsedBytes: 1e7,
  eventLoopLagMs: { mean: 0.1, p99: 1, max: 2 },
  protocols: { ws: { connections: 1, messagesIn: 10, messagesOut: 5, bytesIn: 1000, bytesOut: 100 } },
  ...over,
});

describe('monitor arithmetic', () => {
  test('deltas between two snapshots: CPU ms and % of one core, messages and bytes per protocol', () => {
    const later = snapshot({
      uptimeMs: 2000,
      cpuUserMs: 400,
      cpuSystemMs: 150,
      protocols: {
        ws: { connections: 2, messagesIn: 30, messagesOut: 15, bytesIn: 5000, bytesOut: 300 },
        grpc: { connections: 1, messagesIn: 2, messagesOut: 2, bytesIn: 20, bytesOut: 10 },
      },
    });
    assert.deepEqual(between(snapshot(), later), {
      cpuMs: 400,
      cpuPercent: 40,
      protocols: {
        ws: { messagesIn: 20, messagesOut: 10, bytesIn: 4000, bytesOut: 200 },
        grpc: { messagesIn: 2, messagesOut: 2, bytesIn: 20, bytesOut: 10 },
      },
    });
  });

  test('a restarted server (clock or counters going back) starts a new baseline', () => {
    assert.equal(between(snapshot(), snapshot({ uptimeMs: 500 })), null);
    assert.equal(
      between(
        snapshot(),
        snapshot({
          uptimeMs: 2000,
          protocols: { ws: { connections: 0, messagesIn: 1, messagesOut: 0, bytesIn: 0, bytesOut: 0 } },
        }),
      ),
      null,
    );
  });

  test("the monitor runs for a profile's planned length, cut off (gracefulStop 0); not beside a fixed number of iterations", () => {
    const monitor = monitorScenario('ws-image', resolveExecutor({ profile: 'compare', duration: '12s' }));
    assert.deepEqual(monitor, {
      executor: 'per-vu-iterations',
      vus: 1,
      iterations: 1,
      maxDuration: '12s',
      gracefulStop: '0s',
      exec: 'monitor',
      tags: { role: 'monitor', workload: 'ws-image' },
    });
    assert.equal(
      monitorScenario(
        'ws-image',
        resolveExecutor({
          model: 'open',
          stages: [
            { duration: '1m', target: 5 },
            { duration: '30s', target: 0 },
          ],
        }),
      )?.maxDuration,
      '90s',
    );
    assert.equal(monitorScenario('ws-image', resolveExecutor({ iterations: 1 })), null);
  });

  test('the table: server CPU per 1,000 messages and wire bytes per message', () => {
    const summary = {
      metrics: {
        rtb_messages: { count: 200, rate: 10 },
        'data_sent{scenario:x}': { count: 90_000 },
        'data_received{scenario:x}': { count: 10_000 },
        data_sent: { count: 1e9 },
      },
    };
    const row = comparisonRow('x', summary, { exitCode: 0, failedChecks: 0 }, { serverCpuMs: 50 });
    assert.equal(row.cpuPer1k, 250);
    assert.equal(row.wirePerMsg, 500);
    assert.match(formatTable([row]), /srv CPU ms\/1k\s+wire B\/msg/);
    assert.match(formatTable([row]), /GET \/stats read before and after the run/);
    assert.equal(comparisonRow('y', null, { exitCode: 1, failedChecks: 0 }).cpuPer1k, null);
  });
});

describe('server cost with the real servers and k6', () => {
  const suite = suiteServers({ servers: [] }, { k6: true });

  test('GET /stats is sane at rest: cumulative counters, a monotonic clock, lag near 0', async () => {
    const a = await stats(suite.servers);
    await new Promise((r) => setTimeout(r, 1200));
    const b = await stats(suite.servers);
    assert.ok(b.uptimeMs - a.uptimeMs >= 1000, 'uptimeMs is a clock in ms');
    assert.ok(b.cpuUserMs + b.cpuSystemMs >= a.cpuUserMs + a.cpuSystemMs);
    assert.ok(a.rssBytes > 20e6 && a.rssBytes < 2e9, `rss ${a.rssBytes}`);
    assert.ok(a.heapUsedBytes > 1e6 && a.heapUsedBytes < a.rssBytes, `heap ${a.heapUsedBytes}`);
    // An idle server's loop is not held up: its mean lag over a 1 s window is a few ms. The max of
    // one window is one timer tick, which a loaded machine can deschedule for tens of ms, so it
    // must be small in at least one of three windows (a server busy all along fails every one).
    const windows = [b.eventLoopLagMs];
    for (let i = 0; i < 2 && Math.min(...windows.map((w) => w.max)) >= 50; i++) {
      await new Promise((r) => setTimeout(r, 1100));
      windows.push((await stats(suite.servers)).eventLoopLagMs);
    }
    const seen = JSON.stringify(windows);
    for (const w of windows) {
      assert.ok(w.max >= 0 && w.mean <= w.max, seen);
      assert.ok(w.mean < 20, `an idle server's mean loop lag is small, got ${seen}`);
    }
    assert.ok(Math.min(...windows.map((w) => w.max)) < 50, `an idle server's loop lag is small, got ${seen}`);
    for (const name of ['ws', 'grpc']) assert.ok(b.protocols[name], `protocol ${name} reported`);
  });

  test('ws-image: CPU used, connections seen during the run, every frame and byte counted; the monitor records it into the run', async () => {
    const { result: run, snaps } = await sampled(
      suite.servers,
      runK6(
        'ws-image.js',
        { ...suite.servers.env(), PROFILE: 'smoke', DURATION: '3s', IMAGES: '3' },
        { args: ['--out', 'json=points.json'] },
      ),
    );
    assert.equal(run.code, 0, run.stderr.slice(-2000));
    const first = snaps[0]!;
    const last = snaps[snaps.length - 1]!;
    const m = run.summary.metrics;
    const images = m.rtb_messages.count as number;
    assert.ok(images >= 3);
    assert.ok(
      last.cpuUserMs + last.cpuSystemMs - (first.cpuUserMs + first.cpuSystemMs) > 100,
      'hashing images costs CPU',
    );
    assert.ok(
      Math.max(...snaps.map((s) => s.protocols.ws!.connections)) >= 1,
      'an open WebSocket is counted while the run is on',
    );
    assert.equal(last.protocols.ws!.connections, 0, 'closed again after the run');
    const d = between(first, last)!;
    assert.equal(d.protocols.ws!.messagesIn, 2 * images, 'a claim and a binary frame per image');
    assert.equal(d.protocols.ws!.messagesOut, images, 'one ack per image');
    assert.ok(d.protocols.ws!.bytesIn >= images * IMAGE_BYTES);

    // the monitor's samples are in the run, and apart from the workload
    for (const name of [
      'rtb_server_cpu_percent',
      'rtb_server_cpu_time',
      'rtb_server_rss_bytes',
      'rtb_server_heap_bytes',
      'rtb_server_loop_lag_ms',
      'rtb_server_connections',
      'rtb_server_messages',
      'rtb_server_bytes',
    ]) {
      assert.ok(m[name], `${name} recorded`);
    }
    assert.ok(m.rtb_server_cpu_percent.max > 0 && m.rtb_server_cpu_percent.max < 400);
    assert.ok(m.rtb_server_rss_bytes.value > 20e6);
    assert.equal(m.iterations.count, m.rtb_batch_time.count, 'one batch per iteration: the monitor adds no iteration');
    const pts = points(run);
    const monitorReqs = pts.filter((p) => p.metric === 'http_reqs');
    assert.ok(monitorReqs.length >= 2, 'the monitor polled at least twice');
    for (const p of monitorReqs)
      assert.deepEqual(
        [p.data.tags.scenario, p.data.tags.role, p.data.tags.workload],
        ['rtb_monitor', 'monitor', 'ws-image'],
      );
    // rtb_generator_* (k6's own cost) is the monitor's too.
    for (const p of pts.filter((p) => p.metric.startsWith('rtb_') && !/^rtb_(server|generator)_/.test(p.metric)))
      assert.equal(p.data.tags.scenario, 'ws-image', `${p.metric} is the workload's`);
    const serverPts = pts.filter((p) => p.metric.startsWith('rtb_server_'));
    for (const p of serverPts) assert.equal(p.data.tags.workload, 'ws-image');
    assert.ok(
      serverPts.some(
        (p) => p.metric === 'rtb_server_connections' && p.data.tags.protocol === 'ws' && p.data.value >= 1,
      ),
    );
    assert.ok(
      serverPts.filter((p) => p.metric === 'rtb_server_cpu_percent').every((p) => p.data.tags.protocol === 'ws'),
      "process-wide values carry the workload's protocol",
    );
    assert.ok(m['data_sent{scenario:ws-image}'].count >= images * IMAGE_BYTES, "the workload's own wire bytes");
    assert.ok(
      m['data_sent{scenario:ws-image}'].count < m.data_sent.count,
      "the monitor's polls are not the workload's",
    );
  });

  test('grpc-image: gRPC connections (channelz), messages and protobuf bytes both ways', async () => {
    const { result: run, snaps } = await sampled(
      suite.servers,
      runK6('grpc-image.js', { ...suite.servers.env(), PROFILE: 'smoke', DURATION: '3s', IMAGES: '3', MONITOR: 'off' }),
    );
    assert.equal(run.code, 0, run.stderr.slice(-2000));
    const images = run.summary.metrics.rtb_messages.count as number;
    const first = snaps[0]!;
    const last = snaps[snaps.length - 1]!;
    const d = between(first, last)!;
    assert.equal(d.protocols.grpc!.messagesIn, images);
    assert.equal(d.protocols.grpc!.messagesOut, images);
    assert.ok(d.protocols.grpc!.bytesIn >= images * IMAGE_BYTES, 'request messages carry the image');
    assert.ok(d.protocols.grpc!.bytesOut > images * 64, 'acks carry a digest');
    assert.ok(
      Math.max(...snaps.map((s) => s.protocols.grpc!.connections)) >= 1,
      'an open HTTP/2 connection is counted while the run is on',
    );
    const raw = (await (await fetch(`${suite.servers.httpUrl}/stats`)).json()) as {
      protocols: { grpc: { connectionsTotal: unknown } };
    };
    assert.equal(raw.protocols.grpc.connectionsTotal, null, 'grpc-js cannot say how many it opened in total');
    // MONITOR=off: no monitor scenario, no extra VU, no polls
    const m = run.summary.metrics;
    assert.equal(m.rtb_server_cpu_percent, undefined);
    assert.equal(m.http_reqs, undefined);
    assert.equal(m.vus_max.max, 1);
  });

  test('no monitor beside a fixed number of iterations; a wrong STATS_URL only warns once', async () => {
    const fixed = await runK6('ws-image.js', { ...suite.servers.env(), ITERATIONS: '1', IMAGES: '2' });
    assert.equal(fixed.code, 0, fixed.stderr.slice(-2000));
    assert.equal(fixed.summary.metrics.rtb_server_rss_bytes, undefined);
    assert.equal(fixed.summary.metrics.iterations.count, 1);

    const wrong = await runK6('ws-image.js', {
      ...suite.servers.env(),
      STATS_URL: `${suite.servers.httpUrl}/nope`,
      PROFILE: 'smoke',
      DURATION: '2s',
      IMAGES: '2',
    });
    assert.equal(wrong.code, 0, 'the workload passes without server stats');
    assert.equal((wrong.stderr.match(/rtb_monitor: no server stats from/g) ?? []).length, 1, wrong.stderr);
    assert.match(wrong.stderr, /HTTP 404/);
    assert.equal(wrong.summary.metrics.rtb_server_rss_bytes, undefined);
  });
});
