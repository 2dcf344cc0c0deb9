// Outages through toxiproxy, not through a server endpoint: the real k6 streams from the real
// servers through a shaped proxy that the harness takes down for a while (every connection cut,
// new ones refused) or that resets every connection; each stream resumes with nothing lost and
// nothing repeated, and the run reports how long recovery took.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allChecksPassed, runK6, suiteServers, waitFor } from '../helpers.ts';
import {
  parseFaults,
  scheduleFaults,
  startShapedServers,
  startToxiproxy,
  type ShapedServers,
  type Toxiproxy,
} from '../../tools/network.mjs';

let toxiproxy: Toxiproxy;
let lan: ShapedServers;
suiteServers(
  { servers: [] },
  {
    k6: true,
    setup: async ({ servers }) => {
      toxiproxy = await startToxiproxy();
      lan = await startShapedServers('lan', { servers, toxiproxy });
    },
  },
);
after(async () => {
  await toxiproxy?.stop();
});

const RATE = 20;
const WINDOW_S = 8; // room after the fault for a reconnect's jittered backoff
const FAULTS = {
  outage: { spec: 'outage@1500ms:1500ms', downMs: 1500, actions: ['network down', 'network up'] },
  reset: { spec: 'reset@1500ms', downMs: 0, actions: ['reset on', 'reset off'] },
};
type Fault = (typeof FAULTS)[keyof typeof FAULTS];

/** What the servers' /stats calls each script's stream (an order stream on the gRPC server: grpc-stream). */
const STREAM_OF: Record<string, string> = {
  'sse-feed.js': 'sse',
  'ws-feed.js': 'ws',
  'socketio-feed.js': 'socketio',
  'grpc-server-stream.js': 'grpc-stream',
  'grpc-ws-stream.js': 'grpc-ws',
};

/**
 * Runs `script` once (one iteration, no monitor) through the lan proxy while `fault` happens to
 * it; asserts the fault happened during the run and that the stream came through it with nothing
 * lost, nothing twice and a recovery time. Returns the run, its metrics and the longest recovery.
 * The fault's times count from when the server holds the stream, not from k6's start: a slow
 * start once opened the stream after the outage was over, and there was nothing to recover.
 */
async function throughFault(
  script: string,
  fault: Fault,
  env: Record<string, string>,
  opts: { prepare?: (dir: string) => void } = {},
) {
  const running = runK6(
    script,
    { ...lan.env(), ITERATIONS: '1', MONITOR: 'off', FAULT: fault.spec, ...env },
    { args: lan.k6Args, ...opts },
  );
  await waitFor(`${script}'s stream open on the server`, async () => (await openNow(STREAM_OF[script]!)) > 0, 15_000);
  const faults = scheduleFaults(lan.network!, parseFaults(fault.spec));
  const run = await running;
  const done = await faults.stop();
  assert.deepEqual(
    done.map((d) => d.action),
    fault.actions,
    `the faults happened during the run: ${JSON.stringify(done)}`,
  );
  const m = run.summary.metrics;
  assert.equal(m.rtb_lost?.count ?? 0, 0, 'nothing lost');
  assert.equal(m.rtb_duplicates?.count ?? 0, 0, 'nothing twice');
  assert.ok(m.rtb_recovery_time?.count >= 1, 'the stream was cut and a recovery time recorded');
  return { run, m, recovery: m.rtb_recovery_time.max as number };
}

/** The order streams (gRPC SubscribeOrders, the bridge's ProcessOrders): 100 messages, one every 50 ms. */
const ORDERS = 100;
const ORDER_STREAM = { COUNT: String(ORDERS), INTERVAL: '50ms' };

// Socket.IO's resume must be its own connection state recovery (the server restores the session
// and replays what the client missed), not our fallback of subscribing again: k6 itself checks that
// through thresholds on rtb_resumes{via}, which also put those counts in the summary.
const VIA_RECOVERY = {
  scenarios: {
    'socketio-feed': {
      thresholds: { 'rtb_resumes{via:recovery}': ['count>=1'], 'rtb_resumes{via:resubscribe}': ['count==0'] },
    },
  },
};

for (const script of ['sse-feed.js', 'ws-feed.js', 'socketio-feed.js']) {
  for (const fault of Object.values(FAULTS)) {
    test(`${script} through lan, ${fault.spec}: resumes with 0 lost, 0 duplicated, recovery time reported`, async (t) => {
      const socketIo = script === 'socketio-feed.js';
      const env = { MODE: 'normal', MSG_RATE: String(RATE), WINDOW: `${WINDOW_S}s` };
      const prepare = (dir: string) => writeFileSync(join(dir, 'config.json'), JSON.stringify(VIA_RECOVERY));
      const { run, m, recovery } = await throughFault(
        script,
        fault,
        socketIo ? { ...env, RTBENCH_CONFIG: 'config.json' } : env,
        { prepare },
      );
      allChecksPassed(run, ['messages received', 'no messages lost', 'no duplicates', 'recovered after the drop']);
      t.diagnostic(
        `${script} ${fault.spec}: ${m.rtb_messages.count} messages, recovery ${recovery.toFixed(0)} ms (max of ${m.rtb_recovery_time.count})`,
      );
      // the stream was down at least as long as the network, and came back well within the window
      assert.ok(
        recovery >= fault.downMs - 100 && recovery < fault.downMs + 3000,
        `recovery ${recovery} ms for a ${fault.downMs} ms outage`,
      );
      if (socketIo) {
        const via = (how: string) => m[`rtb_resumes{via:${how}}`]?.count;
        assert.ok(via('recovery') >= 1, `resumed through connection state recovery: ${JSON.stringify(m.rtb_resumes)}`);
        assert.equal(via('resubscribe'), 0, 'never fell back to subscribing again');
        t.diagnostic(`${script} ${fault.spec}: ${via('recovery')} resume(s) through connection state recovery`);
      }
      // every message the server published in the window arrived once (allow for connect time)
      assert.ok(
        m.rtb_messages.count >= RATE * (WINDOW_S - 1),
        `${m.rtb_messages.count} messages in ${WINDOW_S} s at ${RATE}/s`,
      );
    });
  }
}

for (const fault of Object.values(FAULTS)) {
  test(`grpc-server-stream through lan, ${fault.spec}: SubscribeOrders resumes after the last seq, 0 lost, 0 duplicated`, async (t) => {
    const { run, m, recovery } = await throughFault('grpc-server-stream.js', fault, ORDER_STREAM);
    allChecksPassed(run, ['orders arrive in order, none missing', 'every message arrived', 'recovered after the drop']);
    assert.equal(m.rtb_messages.count, ORDERS, 'every order exactly once');
    t.diagnostic(`grpc-server-stream ${fault.spec}: recovery ${recovery.toFixed(0)} ms`);
    assert.ok(recovery >= fault.downMs - 100, `recovery ${recovery} ms for a ${fault.downMs} ms outage`);
  });
}

/** Connections (for grpc-stream: order streams) the servers hold open now, read directly, not through the proxy. */
async function openNow(protocol: string): Promise<number> {
  const res = await fetch(`${lan.servers.httpUrl}/stats`);
  const stats = (await res.json()) as { protocols: Record<string, { connections: number }> };
  return stats.protocols[protocol]?.connections ?? 0;
}

for (const fault of Object.values(FAULTS)) {
  test(`grpc-ws-stream through lan, ${fault.spec}: the bidi call over the bridge reopens and resumes after the last result, 0 lost, 0 duplicated`, async (t) => {
    const { run, m, recovery } = await throughFault('grpc-ws-stream.js', fault, ORDER_STREAM);
    allChecksPassed(run, [
      'result echoes its action',
      'messages received',
      'no messages lost',
      'no duplicates',
      'recovered after the drop',
      'every message arrived',
    ]);
    assert.equal(m.rtb_messages.count, ORDERS, 'every result exactly once');
    assert.equal(m.rtb_errors?.count ?? 0, 0, 'a lost connection that the call recovered from is not an error');
    t.diagnostic(
      `grpc-ws-stream ${fault.spec}: recovery ${recovery.toFixed(0)} ms (max of ${m.rtb_recovery_time.count})`,
    );
    assert.ok(
      recovery >= fault.downMs - 100 && recovery < fault.downMs + 5000,
      `recovery ${recovery} ms for a ${fault.downMs} ms outage`,
    );
    // The bridge cancelled the upstream call of every WebSocket the fault cut: once the run is
    // over no ProcessOrders call is left open on the gRPC server, nor a WebSocket on the bridge.
    await waitFor('the bridge and the gRPC server to hold no call', async () => {
      return (await openNow('grpc-ws')) === 0 && (await openNow('grpc-stream')) === 0;
    });
  });
}

test('a bad fault schedule is an error naming it', () => {
  assert.throws(() => parseFaults('outage@5s'), /FAULT 'outage@5s': an outage needs its length/);
  assert.throws(() => parseFaults('flood@5s'), /unknown fault 'flood' \(known: outage, reset\)/);
  assert.throws(() => parseFaults('reset@5x'), /FAULT 'reset@5x': '5x' is not a duration/);
  assert.deepEqual(parseFaults('outage@5s:2s,reset@8s'), [
    { kind: 'outage', atMs: 5000, forMs: 2000 },
    { kind: 'reset', atMs: 8000, forMs: 300 },
  ]);
});
