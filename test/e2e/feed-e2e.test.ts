// End to end: the real k6 (built with our SSE extension) runs sse-feed and ws-feed against the
// real servers in normal, fan-out and drop modes: every message delivered in sequence, fan-out
// complete, and a forced drop resumed with nothing lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteServers, checksOf, runK6 } from '../helpers.ts';

const suite = suiteServers({ servers: [] }, { k6: true });

const RATE = 20;
for (const script of ['sse-feed.js', 'ws-feed.js']) {
  for (const mode of ['normal', 'fanout', 'drop']) {
    test(`${script} ${mode}: in sequence, nothing lost or repeated`, async () => {
      const run = await runK6(script, {
        ...suite.servers.env(),
        MODE: mode,
        MSG_RATE: String(RATE),
        WINDOW: '3s',
        SUBSCRIBERS: '5',
        ITERATIONS: '1',
      });
      assert.equal(run.code, 0, run.stderr.slice(-2000));
      const m = run.summary.metrics;
      const checks = checksOf(run.summary);
      const streams = mode === 'fanout' ? 5 : 1;
      for (const name of ['messages received', 'no messages lost', 'no duplicates'])
        assert.deepEqual(checks[name], { passes: streams, fails: 0 }, name);
      assert.equal(m.rtb_lost.count, 0);
      assert.equal(m.rtb_duplicates.count, 0);
      // ~RATE × 3 s per stream: allow for connect time at the start
      const perStream = m.rtb_messages.count / streams;
      assert.ok(perStream >= RATE * 2 && perStream <= RATE * 3 + 2, `${perStream} messages per stream`);
      assert.equal(m.rtb_latency.count, m.rtb_messages.count);
      assert.equal(m.rtb_connect_time.count, streams);
      if (mode === 'fanout') {
        assert.deepEqual(checks['fan-out: messages reached every subscriber']?.fails, 0);
        assert.ok(m.rtb_batch_time.count >= RATE * 2, 'fan-out completion time recorded per message');
      }
      if (mode === 'drop') {
        assert.deepEqual(checks['recovered after the drop'], { passes: 1, fails: 0 });
        assert.equal(m.rtb_recovery_time.count, 1);
        if (script === 'sse-feed.js') assert.equal(m.sse_reconnects.count, 1);
      }
    });
  }
}

test('the feed scenarios reject a bad mode at init, naming it', async () => {
  const run = await runK6('sse-feed.js', { ...suite.servers.env(), MODE: 'firehose' });
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /MODE: unknown value 'firehose' \(one of: normal, fanout, drop\)/);
});
