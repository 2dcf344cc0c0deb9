// What one held connection costs the server's V8 heap, so that the per-connection cost cannot grow
// back unnoticed (README "Capacity": closures, timers and request objects per connection were
// removed). Like a capacity run, every connection subscribes to a feed channel of its own at
// 1 msg/s of 64 B; the servers run with node --expose-gc so that GET /stats?gc=true reports the
// heap after a full collection. The cost is the least-squares slope of that heap against the
// open connections over steps of 250 up to 1,000 (tools/capacity-lib.mjs), for WebSocket and SSE.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type ClientRequest } from 'node:http';
import WebSocket from 'ws';
import { suiteServers, waitFor } from '../helpers.ts';
import { leastSquares } from '../../tools/capacity-lib.mjs';

const STEP = 250;
const STEPS = 4;
// Measured here (Node 20): about 4.6 KB of heap per WebSocket and 7 KB per SSE connection, its
// channel included (7.1 and 7.9 KB before the fitness work). The bounds leave room for other Node
// versions and noise, and still fail if a per-connection closure set, timer or kept request
// object comes back.
const BOUND_KB = { ws: 6.5, sse: 9 };

const suite = suiteServers({
  servers: {
    args: ['--only', 'ws,sse'],
    env: { NODE_OPTIONS: '--expose-gc', RTBENCH_MAX_CHANNELS: String(2 * STEP * STEPS + 10) },
  },
});

const url = (path: string) => `${suite.servers.httpUrl}${path}`;

async function heapAfterGc(protocol: string): Promise<{ conns: number; heap: number }> {
  const s = await (await fetch(url('/stats?gc=true'))).json();
  return { conns: s.protocols?.[protocol]?.connections ?? 0, heap: s.heapUsedBytes };
}

async function declare(name: string): Promise<void> {
  const res = await fetch(url('/feed/channels'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, rate: 1, bytes: 64 }),
  });
  assert.ok([200, 201].includes(res.status), `declaring ${name}: HTTP ${res.status}`);
}

const open: Array<{ close(): void }> = [];
after(() => {
  for (const c of open) c.close();
});

function subscribeWs(channel: string): Promise<void> {
  const ws = new WebSocket(suite.servers.wsUrl('/feed'));
  open.push({ close: () => ws.terminate() });
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.on('open', () => ws.send(JSON.stringify({ op: 'subscribe', channel })));
    ws.once('message', () => resolve()); // {"op":"subscribed"}
  });
}

function subscribeSse(channel: string): Promise<void> {
  let req: ClientRequest;
  const opened = new Promise<void>((resolve, reject) => {
    req = request(url(`/sse?channel=${channel}`), { agent: false }, (res) => {
      assert.equal(res.statusCode, 200);
      res.once('data', () => resolve()); // retry: …
      res.resume();
    });
    req.once('error', reject);
    req.end();
  });
  open.push({ close: () => req.destroy() });
  return opened;
}

/** Opens STEP × STEPS subscribers, sampling the collected heap before and after every step; returns KB per connection. */
async function perConnection(protocol: 'ws' | 'sse', subscribe: (channel: string) => Promise<void>) {
  const samples = [await heapAfterGc(protocol)];
  for (let step = 0; step < STEPS; step++) {
    const names = Array.from({ length: STEP }, (_, i) => `held-${protocol}-${step * STEP + i}`);
    for (const name of names) await declare(name);
    await Promise.all(names.map(subscribe));
    await waitFor(`${(step + 1) * STEP} ${protocol} connections in /stats`, async () => {
      const s = await heapAfterGc(protocol);
      return s.conns >= (step + 1) * STEP ? s : null;
    });
    samples.push(await heapAfterGc(protocol));
  }
  const fit = leastSquares(
    samples.map((s) => s.conns),
    samples.map((s) => s.heap),
  );
  assert.ok(fit, 'a slope over the steps');
  return { kb: fit.slope / 1024, samples };
}

describe('server heap per held connection (forced GC, 1,000 connections each)', { timeout: 60_000 }, () => {
  for (const [protocol, subscribe] of [
    ['ws', subscribeWs],
    ['sse', subscribeSse],
  ] as const) {
    test(`${protocol}: under ${BOUND_KB[protocol]} KB of heap per connection`, async () => {
      const { kb, samples } = await perConnection(protocol, subscribe);
      const detail = samples.map((s) => `${s.conns}: ${(s.heap / 1e6).toFixed(1)} MB`).join(', ');
      console.log(`${protocol}: ${kb.toFixed(2)} KB of heap per connection (${detail})`);
      assert.ok(kb > 0.5, `a held connection costs something (${kb.toFixed(2)} KB): the measurement works`);
      assert.ok(kb <= BOUND_KB[protocol], `${kb.toFixed(2)} KB per ${protocol} connection > ${BOUND_KB[protocol]} KB`);
    });
  }
});
