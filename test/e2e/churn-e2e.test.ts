// End to end: the real k6 runs the churn scenarios (new connections at a rate, each closed after
// the first pushed message) for a few seconds against the real servers: every connection made,
// connect and first-message percentiles recorded, and the server holding no more connections
// afterwards than before (no leak).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { allChecksPassed, k6Bin, runK6, startServers, waitFor, type Servers } from '../helpers.ts';

let servers: Servers;
before(async () => {
  await k6Bin();
  servers = await startServers([]);
});
after(async () => {
  await servers.stop();
});

/** Open connections the server reports for `protocol` (/stats). */
async function open(protocol: string): Promise<number> {
  const s = (await (await fetch(`${servers.httpUrl}/stats`)).json()) as {
    protocols: Record<string, { connections: number }>;
  };
  return s.protocols[protocol]?.connections ?? 0;
}

const RATE = 50;
const WINDOW_S = 3;
for (const [script, protocol] of [
  ['ws-churn.js', 'ws'],
  ['sse-churn.js', 'sse'],
  ['socketio-churn.js', 'socketio'],
  ['grpc-churn.js', 'grpc'],
  ['grpc-ws-churn.js', 'grpc-ws'],
] as const) {
  test(`${script}: ${RATE} connections/s for ${WINDOW_S} s, each given its first message, none left open`, async () => {
    const baseline = await open(protocol);
    const env = { CONNECT_RATE: String(RATE), WINDOW: `${WINDOW_S}s`, MONITOR: 'off' };
    const run = await runK6(script, { ...servers.env(), ...env });
    allChecksPassed(run, ['first message is the one the server pushes, intact']);
    const m = run.summary.metrics;
    // the open model starts RATE × WINDOW connections (k6 may start one more or fewer at the edges)
    const started = m.rtb_connections.count;
    assert.ok(Math.abs(started - RATE * WINDOW_S) <= 2, `${started} connections started`);
    assert.equal(m.rtb_first_message_time.count, started, 'every connection got its first message');
    assert.equal(m.rtb_errors?.count ?? 0, 0, 'no errors');
    assert.equal(m.dropped_iterations?.count ?? 0, 0, 'a VU for every connection');
    for (const k of ['med', 'p(95)', 'p(99)']) {
      assert.ok(m.rtb_connect_time[k] > 0, `connect ${k} ${m.rtb_connect_time[k]}`);
      assert.ok(m.rtb_first_message_time[k] >= m.rtb_connect_time.min, `first message ${k} after a connect`);
    }
    assert.equal(m.rtb_connect_time.count, started, 'a connect time per connection');
    // every connection closed on the client side: the server lets go of each
    await waitFor(
      `${protocol} connections back to ${baseline}`,
      async () => (await open(protocol)) <= baseline || null,
    );
  });
}
