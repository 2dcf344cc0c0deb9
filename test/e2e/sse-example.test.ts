// The SSE extension's example script (extensions/sse/examples/read-events.js) run as a user would,
// with the real k6 built with the extension, against the real servers' SSE stream: it reads its
// events and passes its checks; pointed at a stream the server refuses, its checks fail the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksOf, runK6, suiteServers } from '../helpers.ts';

const EXAMPLE = '../extensions/sse/examples/read-events.js'; // runK6 resolves scripts against dist/

const suite = suiteServers(
  { servers: [] },
  {
    k6: true,
    setup: async ({ servers }) => {
      const res = await fetch(`${servers.httpUrl}/feed/channels`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'example', rate: 50, bytes: 16 }),
      });
      assert.equal(res.status, 201, await res.text());
    },
  },
);

test('the example reads its events and every check passes', async () => {
  const run = await runK6(EXAMPLE, { SSE_URL: `${suite.servers.httpUrl}/sse?channel=example`, EVENTS: '5' });
  assert.equal(run.code, 0, run.stderr.slice(-2000));
  const checks = checksOf(run.summary);
  assert.deepEqual(checks['stream is open'], { passes: 1, fails: 0 });
  // exactly 5 handled: the example closed the stream at its 5th event, and nothing was dispatched after
  for (const name of ['event has data', 'event ids increase', 'event timestamp is when it was read']) {
    assert.deepEqual(checks[name], { passes: 5, fails: 0 }, name);
  }
  // sse_events_received counts events as the extension reads them off the wire, before they are
  // dispatched: on a busy machine a 6th can arrive between the 5th's dispatch and close()
  assert.ok(run.summary.metrics.sse_events_received.count >= 5, `${run.summary.metrics.sse_events_received.count}`);
});

test('a stream the server refuses fails the example', async () => {
  const run = await runK6(EXAMPLE, { SSE_URL: `${suite.servers.httpUrl}/sse?channel=no-such-channel`, EVENTS: '5' });
  assert.notEqual(run.code, 0, 'the checks threshold fails the run');
  assert.deepEqual(checksOf(run.summary)['no stream errors'], { passes: 0, fails: 1 });
  assert.match(run.stdout + run.stderr, /stream error: .*HTTP 404/);
});
