// Heartbeats to many held connections are spread over their interval, not sent to all of them in
// one turn of the server's event loop (at 19,000 connections such a turn holds up every message
// due meanwhile): SSE streams are dealt into one group per second of the heartbeat interval and
// each second writes one group's `: hb` comments; a WebSocket is pinged every ping interval from
// when it opened, not at one sweep for all.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type ClientRequest } from 'node:http';
import WebSocket from 'ws';
import { suiteServers } from '../helpers.ts';

// --idle-ms 6000: WebSocket pings and SSE heartbeats every 3 s (half the idle limit)
const suite = suiteServers({ servers: ['--only', 'ws,sse', '--idle-ms', '6000'] });
const url = (path: string) => `${suite.servers.httpUrl}${path}`;

const closers: Array<() => void> = [];
after(() => closers.forEach((close) => close()));

/** Opens an SSE stream on `channel`; resolves with when its first heartbeat comment arrived. */
function firstHeartbeat(channel: string): Promise<number> {
  let req: ClientRequest;
  return new Promise((resolve, reject) => {
    req = request(url(`/sse?channel=${channel}`), { agent: false }, (res) => {
      assert.equal(res.statusCode, 200);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => chunk.includes(': hb') && resolve(Date.now()));
    });
    req.once('error', reject);
    req.end();
    closers.push(() => req.destroy());
  });
}

/** Opens a WebSocket on /feed, subscribed; resolves with when the server first pinged it. */
function firstPing(channel: string): Promise<number> {
  const ws = new WebSocket(suite.servers.wsUrl('/feed'));
  closers.push(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.on('open', () => ws.send(JSON.stringify({ op: 'subscribe', channel })));
    ws.once('ping', () => resolve(Date.now()));
  });
}

test('heartbeats and pings to many connections are spread over their interval', { timeout: 40_000 }, async () => {
  const res = await fetch(url('/feed/channels'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'hb', rate: 0, bytes: 0 }),
  });
  assert.ok([200, 201].includes(res.status), `declaring the channel: HTTP ${res.status}`);
  const started = Date.now();
  // 30 SSE streams at once: each has its first heartbeat within the 3 s interval, 10 in each second
  const sse = Promise.all(Array.from({ length: 30 }, () => firstHeartbeat('hb')));
  // two WebSockets 1.5 s apart: each pinged 3 s after it opened, so 1.5 s apart, not at one sweep
  const wsA = firstPing('hb');
  await new Promise((r) => setTimeout(r, 1500));
  const wsB = firstPing('hb');
  const [hb, a, b] = await Promise.all([sse, wsA, wsB]);
  assert.ok(Math.max(...hb) - started <= 4500, `every stream had a heartbeat within the interval`);
  const spread = Math.max(...hb) - Math.min(...hb);
  assert.ok(spread >= 1500, `the 30 first heartbeats came over ${spread} ms, not at once`);
  // pinged 3 s after each opened, to the sweep's second: 1.5 ± 1 s apart (one sweep for all: 0 or 3 s)
  assert.ok(
    b - a >= 400 && b - a <= 2600,
    `the second WebSocket was pinged ${b - a} ms after the first, opened 1,500 ms later`,
  );
});
