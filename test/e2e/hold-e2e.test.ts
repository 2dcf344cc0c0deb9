// End to end: the real k6 runs the five hold scenarios (the capacity workload) at a small scale
// against the real servers: every connection opened at the connect rate, held on a stream of its
// own, receiving every message in order until the end, with no errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { allChecksPassed, k6Bin, runK6, startServers, type Servers } from '../helpers.ts';

let servers: Servers;
before(async () => {
  await k6Bin();
  // grpc-hold puts a VU's PER_VU streams on one HTTP/2 connection: room for them beyond the default 16 (as capacity does)
  servers = await startServers(['--grpc-max-streams', '1000']);
});
after(async () => {
  await servers.stop();
});

const CONNS = 300;
const HOLD_S = 5;
for (const script of ['ws-hold.js', 'sse-hold.js', 'socketio-hold.js', 'grpc-hold.js', 'grpc-ws-hold.js']) {
  test(`${script}: ${CONNS} connections held, every message in order, no errors`, async () => {
    const env = {
      CONNS: String(CONNS),
      PER_VU: '150',
      CONNECT_RATE: '300',
      HOLD: `${HOLD_S}s`,
      MSG_RATE: '1',
      MONITOR: 'off',
    };
    // the SLO is the capacity search's business; on a shared test machine only correctness is asserted
    Object.assign(env, { SLO: '10s' });
    const run = await runK6(script, { ...servers.env(), ...env });
    allChecksPassed(run, ['messages received', 'no messages lost', 'no duplicates', 'kept receiving until the end']);
    const m = run.summary.metrics;
    assert.equal(m.rtb_connections.count, CONNS);
    assert.equal(m.rtb_errors?.count ?? 0, 0, 'no errors');
    assert.equal(m.rtb_lost?.count ?? 0, 0, 'nothing lost');
    // one message at once, then 1/s until HOLD after the last is due (1 s ramp); connecting may take a while here
    const perConn = m.rtb_messages.count / CONNS;
    assert.ok(perConn >= HOLD_S - 2 && perConn <= HOLD_S + 3, `${perConn} messages per connection`);
    assert.equal(m.rtb_latency.count, m.rtb_messages.count, 'a latency for every message');
    assert.ok(m.rtb_latency['p(99)'] >= 0, 'latencies are not negative');
  });
}

// gRPC and the bridge: the gRPC server ends every SubscribeOrders call UNAVAILABLE (POST /grpc/drop), each opened again with after_seq
for (const script of ['ws-hold.js', 'sse-hold.js', 'socketio-hold.js', 'grpc-hold.js', 'grpc-ws-hold.js']) {
  test(`${script} STORM_AT: every connection cut at once comes back and resumes, nothing lost`, async () => {
    // the storm comes 5 s after the last connection is due: time for slow connects on a busy machine
    const env = { CONNS: '200', PER_VU: '100', CONNECT_RATE: '400', HOLD: '10s', STORM_AT: '5s', MONITOR: 'off' };
    const run = await runK6(script, { ...servers.env(), ...env });
    const checks = allChecksPassed(run, [
      'storm: the server cut every connection at once',
      'back and receiving after the storm',
      'no messages lost',
    ]);
    assert.deepEqual(checks['back and receiving after the storm'], { passes: 200, fails: 0 });
    const m = run.summary.metrics;
    assert.equal(m.rtb_errors?.count ?? 0, 0, 'a dropped connection that resumes is not an error');
    assert.equal(m.rtb_lost?.count ?? 0, 0, 'resumed from the replay buffer');
    assert.equal(m.rtb_recovery_time.count, 200, 'one recovery per connection');
    assert.ok(m.rtb_recovery_time.max < 10_000, `all back within the hold (${m.rtb_recovery_time.max} ms)`);
  });
}

test('ws-hold STORM_AT=external: cut from outside once the server holds every connection, all come back', async () => {
  // what npm run capacity -- --storm does: poll /stats, cut everything once all 200 are open
  const env = { CONNS: '200', PER_VU: '100', CONNECT_RATE: '400', HOLD: '10s', STORM_AT: 'external', MONITOR: 'off' };
  let dropped = 0;
  const cut = (async () => {
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      const s = (await (await fetch(`${servers.httpUrl}/stats`)).json()) as {
        protocols: Record<string, { connections: number }>;
      };
      if ((s.protocols.ws?.connections ?? 0) >= 200) {
        const res = await fetch(`${servers.httpUrl}/feed/drop?all=true`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        dropped = ((await res.json()) as { dropped: number }).dropped;
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const run = await runK6('ws-hold.js', { ...servers.env(), ...env });
  await cut;
  assert.equal(dropped, 200, 'the server cut every connection');
  const checks = allChecksPassed(run, ['back and receiving after the storm', 'no messages lost']);
  assert.deepEqual(checks['back and receiving after the storm'], { passes: 200, fails: 0 });
  const m = run.summary.metrics;
  assert.equal(m.rtb_lost?.count ?? 0, 0);
  assert.equal(m.rtb_recovery_time.count, 200, 'one recovery per connection');
});

test('a hold scenario rejects a bad setting at init, naming it', async () => {
  const run = await runK6('ws-hold.js', { ...servers.env(), CONNECT_RATE: 'fast' });
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /CONNECT_RATE: 'fast' is not a whole number/);
});
