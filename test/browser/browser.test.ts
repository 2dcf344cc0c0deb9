// The browser tier (`npm run test:browser`, not part of `npm test`: it needs Chromium): the real
// k6 drives real Chromium through k6/browser against the real servers.
//   - every transport's page passes its checks, and the summary holds browser-side latency with
//     client=browser for SSE, WebSocket, Socket.IO (both transport settings) and gRPC over the bridge;
//   - six SSE streams per HTTP/1.1 origin: the seventh waits until one closes;
//   - the browser's own EventSource resumes after a server-side cut with Last-Event-ID, 0 lost;
//   - a busy main thread delays delivery for every transport;
//   - the official @improbable-eng/grpc-web client in the page completes unary, server-streaming and
//     bidi calls through the bridge, with the responses direct gRPC gives.
// tools/test.mjs sets K6_BROWSER_EXECUTABLE_PATH (or fails saying what to install) before this runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { allChecksPassed, k6Bin, runK6, startServers, type Servers } from '../helpers.ts';
import { ECHO, ORDERS, direct } from '../grpc-direct.ts';

let servers: Servers;
before(async () => {
  await k6Bin();
  servers = await startServers();
});
after(async () => {
  await servers.stop();
});

const env = (extra: Record<string, string>) => ({
  ...servers.env(),
  PAGE_URL: `${servers.httpUrl}/browser/`,
  ITERATIONS: '1',
  ...extra,
});

describe('browser pages in Chromium through k6/browser', () => {
  test('every transport: checks pass, the summary holds browser-side latency per protocol with client=browser', async () => {
    const run = await runK6('browser.js', env({ COUNT: '30', MSG_RATE: '30', PAGES: '2' }));
    allChecksPassed(run, [
      'page delivered every message',
      'page saw no loss and no duplicates',
      'page reported no errors',
      'page latencies are positive',
    ]);
    const m = run.summary.metrics;
    for (const key of [
      'rtb_latency{client:browser,protocol:sse}',
      'rtb_latency{client:browser,protocol:ws}',
      'rtb_latency{client:browser,protocol:socketio,transports:polling+websocket}',
      'rtb_latency{client:browser,protocol:socketio,transports:websocket}',
      'rtb_latency{client:browser,protocol:grpc-ws}',
    ]) {
      assert.ok(m[key], `${key} in the summary`);
      assert.equal(m[key].count, 2 * 30, `${key}: one sample per message on each of 2 pages`);
      assert.ok(m[key].med > 0 && m[key].med < 1000, `${key}: median ${m[key].med} ms`);
    }
    assert.equal(m.rtb_messages.count, 5 * 2 * 30);
    assert.equal(m.rtb_lost.count, 0);
    assert.equal(m.rtb_connect_time.count, 5 * 2);
    assert.equal(m.rtb_errors, undefined, 'no errors');
  });

  test('six connections per HTTP/1.1 origin: of seven EventSources six open, the seventh waits until one closes', async () => {
    const run = await runK6('browser-effects.js', env({ EFFECT: 'cap', STREAMS: '7' }));
    allChecksPassed(run, [
      'six streams open at once on one HTTP/1.1 origin',
      'the seventh stream waits',
      'the seventh opens once one closes',
    ]);
    assert.equal(run.summary.metrics.rtb_streams_open.value, 6);
    assert.ok(run.summary.metrics.rtb_stream_wait.min >= 3000, 'the seventh opened only after the close, 3 s in');
  });

  test("after a server-side cut the browser's EventSource resumes with Last-Event-ID: 0 lost, 0 duplicates", async () => {
    const run = await runK6('browser-effects.js', env({ EFFECT: 'resume', COUNT: '60', MSG_RATE: '20' }));
    allChecksPassed(run, [
      'the server cut the stream',
      'EventSource reconnected by itself',
      'resumed with Last-Event-ID: 0 lost, 0 duplicates',
    ]);
    const m = run.summary.metrics;
    assert.equal(m.rtb_messages.count, 60);
    assert.equal(m.rtb_lost.count, 0);
    assert.equal(m.rtb_duplicates.count, 0);
    assert.equal(m.rtb_connect_time.count, 2, 'the first connection and the reconnection');
  });

  test('a main thread busy 50 ms per frame delays delivery for SSE, WebSocket and gRPC alike', async (t) => {
    const run = await runK6(
      'browser-effects.js',
      env({ EFFECT: 'busy', BUSY: '0,50', TRANSPORTS: 'sse,ws,grpc', COUNT: '40', MSG_RATE: '20' }),
    );
    allChecksPassed(run, ['page delivered every message', 'page saw no loss and no duplicates']);
    const m = run.summary.metrics;
    for (const protocol of ['sse', 'ws', 'grpc-ws']) {
      const idle = m[`rtb_latency{protocol:${protocol},busy:0ms}`];
      const busy = m[`rtb_latency{protocol:${protocol},busy:50ms}`];
      t.diagnostic(`${protocol}: median ${idle.med.toFixed(2)} ms idle, ${busy.med.toFixed(2)} ms busy 50 ms/frame`);
      // A message that lands during the 50 ms of work waits ~25 ms on average for the handler.
      assert.ok(busy.med > idle.med + 5, `${protocol}: busy median ${busy.med} ms vs idle ${idle.med} ms`);
    }
  });

  test('the official gRPC-Web client in the page: unary, server-streaming and bidi calls through the bridge equal direct gRPC', async () => {
    const run = await runK6('browser-effects.js', env({ EFFECT: 'calls' }));
    allChecksPassed(run, ['unary, server-streaming and bidi calls end OK', 'every call answered']);
    const line = run.stderr.split('\n').find((l) => l.includes('msg="grpc-calls '));
    assert.ok(line, `the page's calls were logged:\n${run.stderr.slice(-2000)}`);
    const quoted = /msg="grpc-calls (.*)" source=console/.exec(line)![1]!;
    const calls = JSON.parse(JSON.parse(`"${quoted}"`)) as Record<string, { code: number; responses: string[] }>;
    const bytes = (c: { responses: string[] }) => c.responses.map((b) => Buffer.from(b, 'base64'));
    const echo = (seq: number) => ECHO.Echo!.requestSerialize({ seq, payload: Buffer.from(`browser ${seq}`) });

    assert.deepEqual(
      bytes(calls.Echo!),
      (await direct(servers, ECHO.Echo!, [echo(1)])).responses,
      'unary Echo, byte for byte',
    );
    assert.deepEqual(
      bytes(calls.EchoStream!),
      (await direct(servers, ECHO.EchoStream!, [echo(1), echo(2), echo(3)])).responses,
      'bidi EchoStream, byte for byte',
    );
    const sub = ORDERS.SubscribeOrders!;
    const straight = await direct(servers, sub, [sub.requestSerialize({ count: 5, intervalMs: 0, noteBytes: 16 })]);
    const comparable = (bodies: Buffer[]) =>
      bodies.map((b) => ({ ...(sub.responseDeserialize(b) as object), id: '*', serverSendMs: '*' }));
    assert.deepEqual(
      comparable(bytes(calls.SubscribeOrders!)),
      comparable(straight.responses),
      'server-streaming SubscribeOrders, the same orders',
    );
  });
});
