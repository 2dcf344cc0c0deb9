// Physics checks for network shapes: the real k6 through the real toxiproxy to the real servers.
// Under a shape with RTT R (no jitter, so the expectation is sharp), each protocol's connect time
// and per-message time grow by exactly the round trips its protocol needs, and under a bandwidth
// limit 50 × 533 KB cannot arrive sooner than the link allows; direct (loopback) they do not move.
//
// Round trips per protocol (toxiproxy delays payload only: the TCP handshake to the proxy is on
// loopback and costs nothing here). Each run has 4 iterations and the minimums are compared: load
// on the machine and a run's cold first connection only ever add time, and no sample can beat
// the shape's delays, so the minimum is the cleanest estimate of what the protocol itself costs:
//   WebSocket   connect: the HTTP upgrade request → 101                                   1 RTT
//   SSE         connect: GET → response headers (the server flushes them at once)          1 RTT
//   Socket.IO   connect: upgrade → 101 (Engine.IO's open packet follows it in the same
//               flight), then our CONNECT to the namespace → the server's CONNECT ack       2 RTT
//   gRPC        connect: grpc-go's connection is READY once the server's HTTP/2 preface
//               (SETTINGS) arrived. The server sends it as soon as it accepts the TCP
//               connection, without waiting for the client's preface; toxiproxy dials the
//               server the moment k6 connects, so here it costs the downstream delay only   0.5 RTT
//               (over a real link the TCP handshake comes first: 1.5 RTT in all)
//   bridge      connect: the WebSocket upgrade; the gRPC call behind it is on loopback     1 RTT
//   per message: a request/reply (echo, unary call, a call over the bridge, whose header
//               message travels with the request) costs 1 RTT; a server push half of one
//               (the downstream delay only).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { allChecksPassed, runK6, suiteServers } from '../helpers.ts';
import { startShapedServers, startToxiproxy, type ShapedServers, type Toxiproxy } from '../../tools/network.mjs';

const HALF = 50; // ms each way
const R = 2 * HALF;
const RATE_KBPS = 52_000; // 6500 KB/s: 50 × 533 KB need at least ~4.1 s
const shapes = {
  'test-rtt': {
    description: `${R} ms RTT, no jitter, no bandwidth limit`,
    up: { latencyMs: HALF },
    down: { latencyMs: HALF },
  },
  'test-bw': { description: `${RATE_KBPS} kbit/s upstream, no latency`, up: { latencyMs: 0, kbps: RATE_KBPS } },
};

let toxiproxy: Toxiproxy;
let rtt: ShapedServers;
let bw: ShapedServers;
const suite = suiteServers(
  { servers: [] },
  {
    k6: true,
    setup: async ({ servers }) => {
      toxiproxy = await startToxiproxy();
      rtt = await startShapedServers('test-rtt', { servers, toxiproxy, shapes });
      bw = await startShapedServers('test-bw', { servers, toxiproxy, shapes });
    },
  },
);
after(async () => {
  await toxiproxy?.stop();
});

const ONE = { VUS: '1', ITERATIONS: '1', MONITOR: 'off' };
const FOUR = { ...ONE, ITERATIONS: '4' };

interface Case {
  script: string;
  env: Record<string, string>;
  /** Round trips the connect takes. */
  connect: number;
  /** Round trips each message takes (0.5 = one-way push). */
  message: number;
}

const CASES: Record<string, Case> = {
  websocket: { script: 'ws-echo.js', env: { WINDOW: '500ms' }, connect: 1, message: 1 },
  sse: { script: 'sse-feed.js', env: { WINDOW: '700ms', MSG_RATE: '10' }, connect: 1, message: 0.5 },
  'socket.io': { script: 'socketio-echo.js', env: { WINDOW: '500ms' }, connect: 2, message: 1 },
  grpc: { script: 'grpc-unary.js', env: { COUNT: '5' }, connect: 0.5, message: 1 },
  'grpc-over-ws': { script: 'grpc-over-ws.js', env: { CALL: 'unary', COUNT: '2' }, connect: 1, message: 1 },
};

/** The minimum of a Trend in a summary export. */
const min = (run: { summary: any }, metric: string): number => {
  const m = run.summary.metrics[metric];
  assert.ok(m && m.count >= 4, `${metric} has at least 4 samples`);
  return m.min;
};

for (const [protocol, c] of Object.entries(CASES)) {
  test(`${protocol}: connect grows by ${c.connect} RTT and each message by ${c.message} RTT under a ${R} ms RTT shape; not direct`, async (t) => {
    const direct = await runK6(c.script, { ...suite.servers.env(), ...FOUR, ...c.env });
    allChecksPassed(direct, []);
    const shaped = await runK6(c.script, { ...rtt.env(), ...FOUR, ...c.env }, { args: rtt.k6Args });
    allChecksPassed(shaped, []);
    const within = (what: string, directMs: number, shapedMs: number, trips: number) => {
      const expected = trips * R;
      const grew = shapedMs - directMs;
      t.diagnostic(
        `${protocol} ${what} (min): direct ${directMs.toFixed(1)} ms, ${R} ms RTT ${shapedMs.toFixed(1)} ms, +${grew.toFixed(1)} ms = ${(grew / R).toFixed(2)} RTT`,
      );
      // Never less than the shape's delays (minus the script clock's whole milliseconds); at most
      // that plus what the same step costs direct plus 0.3 RTT: one more round trip fails (direct
      // is held under 0.4 RTT below), and so does half of one when the direct cost is small.
      assert.ok(
        shapedMs >= expected - 3 && shapedMs <= expected + directMs + R * 0.3,
        `${protocol} ${what}: direct ${directMs.toFixed(1)} ms, shaped ${shapedMs.toFixed(1)} ms: grew ${grew.toFixed(1)} ms, expected ${expected} ms (${trips} × ${R} ms)`,
      );
      // Direct, nothing near a round trip of the shape is paid.
      assert.ok(
        directMs < R * 0.4,
        `${protocol} ${what} direct: ${directMs.toFixed(1)} ms should be well under ${R} ms`,
      );
    };
    within('connect time', min(direct, 'rtb_connect_time'), min(shaped, 'rtb_connect_time'), c.connect);
    within('per-message time', min(direct, 'rtb_latency'), min(shaped, 'rtb_latency'), c.message);
  });
}

for (const script of ['ws-image.js', 'grpc-image.js']) {
  test(`${script}: 50 × 533 KB take at least what ${RATE_KBPS / 1000} Mbit/s allows; direct, less`, async (t) => {
    const env = { ...ONE, IMAGES: '50', MODE: 'sequential' };
    const direct = await runK6(script, { ...suite.servers.env(), ...env });
    allChecksPassed(direct, []);
    const shaped = await runK6(script, { ...bw.env(), ...env }, { args: bw.k6Args });
    allChecksPassed(shaped, []);
    const bytes = shaped.summary.metrics.rtb_payload_bytes.count as number;
    assert.ok(bytes >= 50 * 533_000, `${bytes} payload bytes delivered`);
    const floorMs = (bytes / ((RATE_KBPS * 1000) / 8)) * 1000; // payload only: framing makes the real floor higher
    const shapedMs = shaped.summary.metrics.rtb_batch_time.max as number;
    const directMs = direct.summary.metrics.rtb_batch_time.max as number;
    t.diagnostic(
      `${script}: ${bytes} B direct ${directMs.toFixed(0)} ms, at ${RATE_KBPS / 1000} Mbit/s ${shapedMs.toFixed(0)} ms (floor ${floorMs.toFixed(0)} ms)`,
    );
    assert.ok(
      shapedMs >= floorMs * 0.97,
      `shaped: ${shapedMs.toFixed(0)} ms for ${bytes} B, below the link's floor ${floorMs.toFixed(0)} ms`,
    );
    assert.ok(
      shapedMs <= floorMs * 2 + 2000,
      `shaped: ${shapedMs.toFixed(0)} ms, far above the link's floor ${floorMs.toFixed(0)} ms`,
    );
    assert.ok(
      directMs < floorMs * 0.8,
      `direct: ${directMs.toFixed(0)} ms should beat the shaped floor ${floorMs.toFixed(0)} ms`,
    );
  });
}
