#!/usr/bin/env node
// @ts-check
// `npm run soak -- --duration 30m`: a mixed workload of every protocol against the servers for a
// long time, with reconnects, sampling the servers' RSS and heap from /stats. Verifies every
// answer (echoes in order, image digests, feed sequence numbers across resumes) and reports
// RSS/heap over time. Fails (exit 1) when anything was lost or RSS grew more than --max-growth
// percent between the end of the warm-up and the end of the run.
//
//   npm run soak -- [--duration 30m] [--warmup 2m] [--interval 10s] [--max-growth 10] [--json out.json]
//
// Workload (all at once, each loop bounded): 4 WebSocket echo clients, 1 image uploader, a feed
// channel read over WebSocket and SSE with resume, 2 Socket.IO clients (the official client),
// gRPC unary Echo, bidi EchoStream and SubscribeOrders streams, and unary Echo through the
// gRPC-over-WebSocket bridge (a new connection per call). Every client reconnects every few
// seconds.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import * as grpc from '@grpc/grpc-js';
import { io } from 'socket.io-client';
import { startServers } from './harness.mjs';

const HELP = `usage: npm run soak -- [options]

  --duration D     how long to run, e.g. 90s, 30m, 2h (default 30m)
  --warmup D       time before the RSS baseline is taken (default 20% of the duration, at most 5m)
  --interval D     /stats sampling period (default 10s; 2s for runs under 5m)
  --max-growth P   allowed RSS growth after the warm-up, percent (default 10)
  --json FILE      also write the samples and totals as JSON
  -h, --help       this text

Starts its own servers (npm run servers) on free loopback ports.`;

/** @param {string} what @param {string} raw */
export function parseDuration(what, raw) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(raw.trim());
  if (!m) throw new Error(`${what}: '${raw}' is not a duration like 90s, 30m or 2h`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[/** @type {'ms'|'s'|'m'|'h'} */ (m[2])];
}

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
const same = (/** @type {Buffer} */ b) => b;

/** protobuf by hand: varint field, bytes field */
function varint(/** @type {number} */ n) {
  const out = [];
  while (n > 127) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
const pbVarint = (/** @type {number} */ f, /** @type {number} */ v) => Buffer.concat([varint(f * 8), varint(v)]);
const pbBytes = (/** @type {number} */ f, /** @type {Buffer} */ b) =>
  Buffer.concat([varint(f * 8 + 2), varint(b.length), b]);

/**
 * Counts of what each loop expected and got.
 * @typedef {{ sent: number, received: number, bad: number, lost: number }} Tally
 */

/**
 * Runs the mixed workload against `servers` until `until`; returns per-workload tallies.
 * @param {import('./harness.mjs').Servers} servers @param {number} until
 */
async function workload(servers, until) {
  /** @type {Record<string, Tally>} */
  const tally = {};
  const t = (/** @type {string} */ name) => (tally[name] ??= { sent: 0, received: 0, bad: 0, lost: 0 });
  const running = () => Date.now() < until;
  const json = { 'content-type': 'application/json' };

  /** One WebSocket session: `onOpen` drives it; closes after `ms` (a reconnect); resolves when closed. */
  const session = (
    /** @type {string} */ path,
    /** @type {number} */ ms,
    /** @type {(ws: WebSocket) => void} */ onOpen,
  ) =>
    new Promise((resolve) => {
      const ws = new WebSocket(servers.wsUrl(path));
      const timer = setTimeout(() => ws.close(1000), ms);
      ws.on('open', () => onOpen(ws));
      ws.on('close', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
      ws.on('error', () => {});
    });

  async function wsEcho(/** @type {number} */ id) {
    const c = t('ws-echo');
    while (running()) {
      let next = 0;
      let expect = 0;
      await session('/echo', 4000 + id * 500, (ws) => {
        const tick = setInterval(() => {
          if (ws.readyState !== ws.OPEN || !running()) return clearInterval(tick);
          ws.send(`${id}:${next++}:${'p'.repeat(256)}`);
          c.sent++;
        }, 10);
        ws.on('message', (d) => {
          const seq = Number(String(d).split(':')[1]);
          if (seq === expect++) c.received++;
          else c.bad++;
        });
        ws.on('close', () => {
          clearInterval(tick);
          c.lost += next - expect;
        });
      });
    }
  }

  async function wsImage() {
    const c = t('ws-image');
    const image = Buffer.alloc(64 * 1024, 7);
    const sha = createHash('sha256').update(image).digest('hex');
    while (running()) {
      let pending = 0;
      await session('/image', 6000, (ws) => {
        let id = 0;
        const tick = setInterval(() => {
          if (ws.readyState !== ws.OPEN || !running()) return clearInterval(tick);
          ws.send(JSON.stringify({ id: ++id, size: image.length, sha256: sha }));
          ws.send(image);
          c.sent++;
          pending++;
        }, 50);
        ws.on('message', (d) => {
          pending--;
          if (JSON.parse(String(d)).match === true) c.received++;
          else c.bad++;
        });
        ws.on('close', () => {
          clearInterval(tick);
          c.lost += pending;
        });
      });
    }
  }

  async function feedWs() {
    const c = t('feed-ws');
    let last = 0;
    while (running()) {
      await session('/feed', 5000, (ws) => {
        ws.send(JSON.stringify({ op: 'subscribe', channel: 'soak', ...(last ? { after: last } : {}) }));
        ws.on('message', (d) => {
          const m = JSON.parse(String(d));
          if (m.op === 'reset') c.lost += m.oldest - m.requested;
          if (typeof m.seq !== 'number' || m.op) return;
          if (last && m.seq !== last + 1) c.lost += Math.max(0, m.seq - last - 1);
          last = m.seq;
          c.received++;
        });
      });
    }
    c.sent = c.received + c.lost;
  }

  async function feedSse() {
    const c = t('feed-sse');
    let last = 0;
    while (running()) {
      const ctrl = new AbortController();
      const timer = setTimeout(() => ctrl.abort(), 7000);
      try {
        const res = await fetch(`${servers.httpUrl}/sse?channel=soak`, {
          signal: ctrl.signal,
          headers: last ? { 'last-event-id': String(last) } : {},
        });
        let text = '';
        for await (const chunk of /** @type {AsyncIterable<Uint8Array>} */ (/** @type {unknown} */ (res.body))) {
          text += Buffer.from(chunk).toString();
          let end;
          while ((end = text.indexOf('\n\n')) >= 0) {
            const block = text.slice(0, end);
            text = text.slice(end + 2);
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (!data) continue;
            const m = JSON.parse(data);
            if (/^event: reset$/m.test(block)) c.lost += m.oldest - m.requested;
            else {
              if (last && m.seq !== last + 1) c.lost += Math.max(0, m.seq - last - 1);
              last = m.seq;
              c.received++;
            }
          }
        }
      } catch {
        // aborted: a reconnect
      }
      clearTimeout(timer);
    }
    c.sent = c.received + c.lost;
  }

  async function socketIo(/** @type {number} */ id) {
    const c = t('socketio');
    while (running()) {
      const socket = io(servers.httpUrl, { transports: ['websocket'], reconnection: false });
      let pending = 0;
      const tick = setInterval(() => {
        if (!socket.connected || !running()) return;
        pending++;
        c.sent++;
        socket.emit('echo', `${id}:${'s'.repeat(256)}`, (/** @type {string} */ back) => {
          pending--;
          if (back.startsWith(`${id}:`)) c.received++;
          else c.bad++;
        });
      }, 10);
      await sleep(5000 + id * 700);
      clearInterval(tick);
      for (let i = 0; i < 100 && pending > 0; i++) await sleep(20); // let acks in flight arrive (up to 2 s)
      c.lost += pending;
      socket.close();
    }
  }

  async function grpcLoops() {
    const unary = t('grpc-unary');
    const bidi = t('grpc-bidi');
    const stream = t('grpc-server-stream');
    while (running()) {
      const client = new grpc.Client(servers.grpcAddr, grpc.credentials.createInsecure());
      const end = Math.min(until, Date.now() + 8000);
      const call = client.makeBidiStreamRequest('/rtbench.echo.v1.EchoService/EchoStream', same, same);
      let bidiSent = 0;
      call.on('data', () => bidi.received++);
      call.on('error', () => {});
      const bidiDone = new Promise((r) => call.on('status', r));
      const subscribe = client.makeServerStreamRequest(
        '/rtbench.orders.v1.OrderService/SubscribeOrders',
        same,
        same,
        Buffer.concat([pbVarint(2, 100), pbVarint(3, 20), pbVarint(4, 512)]),
      );
      subscribe.on('data', () => stream.received++);
      subscribe.on('error', () => {});
      stream.sent += 100;
      const subDone = new Promise((r) => subscribe.on('status', r));
      while (Date.now() < end) {
        unary.sent++;
        await new Promise((resolve) =>
          client.makeUnaryRequest(
            '/rtbench.echo.v1.EchoService/Echo',
            same,
            same,
            pbBytes(2, Buffer.alloc(256, 1)),
            (err) => {
              if (err) unary.bad++;
              else unary.received++;
              resolve(undefined);
            },
          ),
        );
        call.write(pbVarint(1, ++bidiSent));
        bidi.sent++;
        await sleep(10);
      }
      call.end();
      await Promise.all([bidiDone, subDone]);
      client.close();
    }
    bidi.lost = bidi.sent - bidi.received;
    stream.lost = stream.sent - stream.received;
  }

  // One call per connection in improbable-eng's grpc-websockets protocol (contracts/grpc-websockets.ts,
  // which a plain .mjs cannot import): /grpc-ws/<Service>/<Method> with the subprotocol, a header
  // message, 0x00 + one gRPC-Web frame, the finish-send 0x01; the answer is a 0x80 headers frame,
  // the response frame and a 0x80 trailer, in frames that may span messages.
  async function bridge() {
    const c = t('grpc-ws');
    const headers = Buffer.from('content-type: application/grpc-web+proto\r\nx-grpc-web: 1\r\n', 'latin1');
    const finishSend = Buffer.from([1]);
    while (running()) {
      const body = pbBytes(2, Buffer.alloc(256, 2));
      const data = Buffer.concat([Buffer.from([0, 0]), Buffer.alloc(4), body]);
      data.writeUInt32BE(body.length, 2);
      c.sent++;
      const ok = await new Promise((resolve) => {
        const ws = new WebSocket(servers.wsUrl('/grpc-ws/rtbench.echo.v1.EchoService/Echo'), ['grpc-websockets']);
        let bytes = Buffer.alloc(0);
        ws.on('open', () => {
          ws.send(headers);
          ws.send(data);
          ws.send(finishSend);
        });
        ws.on('message', (/** @type {Buffer} */ d) => (bytes = Buffer.concat([bytes, d])));
        ws.on('close', () => {
          // frames: flag, 4-byte length, body; the echoed message (0x00) and a trailer with grpc-status 0
          let response = false;
          let status = '';
          for (let at = 0; at + 5 <= bytes.length;) {
            const len = bytes.readUInt32BE(at + 1);
            const frame = bytes.subarray(at + 5, at + 5 + len);
            if (bytes[at] === 0)
              response = frame.includes(body); // the payload field echoed (the server adds default fields)
            else if (bytes[at] === 0x80) status = /grpc-status: ?(\d+)/.exec(frame.toString('latin1'))?.[1] ?? status;
            at += 5 + len;
          }
          resolve(response && status === '0');
        });
        ws.on('error', () => resolve(false));
      });
      if (ok) c.received++;
      else c.lost++;
      await sleep(40);
    }
  }

  const declared = await fetch(`${servers.httpUrl}/feed/channels`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ name: 'soak', rate: 50, bytes: 256 }),
  });
  if (![200, 201].includes(declared.status)) throw new Error(`cannot declare the soak channel: ${declared.status}`);
  await Promise.all([
    wsEcho(0),
    wsEcho(1),
    wsEcho(2),
    wsEcho(3),
    wsImage(),
    feedWs(),
    feedSse(),
    socketIo(0),
    socketIo(1),
    grpcLoops(),
    bridge(),
  ]);
  return tally;
}

/**
 * @typedef {{ t: number, rssMiB: number, heapMiB: number, connections: number }} Sample
 * @typedef {{ samples: Sample[], baselineMiB: number, finalMiB: number, growthPct: number, tally: Record<string, Tally>, lost: number, bad: number }} SoakResult
 */

/**
 * Runs the soak against freshly started servers.
 * @param {{ durationMs: number, warmupMs: number, intervalMs: number, log?: (line: string) => void }} opts
 * @returns {Promise<SoakResult>}
 */
export async function runSoak({ durationMs, warmupMs, intervalMs, log = console.log }) {
  const servers = await startServers();
  try {
    const started = Date.now();
    const until = started + durationMs;
    /** @type {Sample[]} */
    const samples = [];
    const sampler = setInterval(async () => {
      try {
        const s = await (await fetch(`${servers.httpUrl}/stats`)).json();
        const connections = Object.values(s.protocols).reduce((n, p) => n + (p.connections ?? 0), 0);
        const sample = {
          t: Math.round((Date.now() - started) / 1000),
          rssMiB: Math.round(s.rssBytes / 1048576),
          heapMiB: Math.round(s.heapUsedBytes / 1048576),
          connections,
        };
        samples.push(sample);
        log(
          `t=${String(sample.t).padStart(5)}s  rss ${String(sample.rssMiB).padStart(4)} MiB  heap ${String(sample.heapMiB).padStart(4)} MiB  connections ${sample.connections}${Date.now() - started < warmupMs ? '  (warm-up)' : ''}`,
        );
      } catch (err) {
        log(`stats failed: ${/** @type {Error} */ (err).message}`);
      }
    }, intervalMs);
    const tally = await workload(servers, until);
    clearInterval(sampler);
    const after = samples.filter((s) => s.t * 1000 >= warmupMs);
    const avg = (/** @type {Sample[]} */ xs) => xs.reduce((n, s) => n + s.rssMiB, 0) / Math.max(1, xs.length);
    const baselineMiB = avg(after.slice(0, 3));
    const finalMiB = avg(after.slice(-3));
    const growthPct = baselineMiB ? ((finalMiB - baselineMiB) / baselineMiB) * 100 : 0;
    const lost = Object.values(tally).reduce((n, c) => n + c.lost, 0);
    const bad = Object.values(tally).reduce((n, c) => n + c.bad, 0);
    return { samples, baselineMiB, finalMiB, growthPct, tally, lost, bad };
  } finally {
    await servers.stop();
  }
}

async function main() {
  let values;
  try {
    values = parseArgs({
      options: {
        duration: { type: 'string', default: '30m' },
        warmup: { type: 'string' },
        interval: { type: 'string' },
        'max-growth': { type: 'string', default: '10' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    console.error(`soak: ${/** @type {Error} */ (err).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (values.help) return console.log(HELP);
  let durationMs, warmupMs, intervalMs;
  try {
    durationMs = parseDuration('--duration', String(values.duration));
    warmupMs = values.warmup ? parseDuration('--warmup', values.warmup) : Math.min(0.2 * durationMs, 300_000);
    intervalMs = values.interval ? parseDuration('--interval', values.interval) : durationMs < 300_000 ? 2000 : 10_000;
  } catch (err) {
    console.error(`soak: ${/** @type {Error} */ (err).message}`);
    process.exit(2);
  }
  const maxGrowth = Number(values['max-growth']);
  if (!(maxGrowth >= 0)) {
    console.error(`soak: --max-growth must be a percentage, got '${values['max-growth']}'`);
    process.exit(2);
  }
  if (warmupMs >= durationMs) {
    console.error(`soak: --warmup (${values.warmup}) must be shorter than --duration (${values.duration})`);
    process.exit(2);
  }
  console.log(
    `soak: ${values.duration} of every protocol with reconnects; RSS baseline after ${warmupMs / 1000}s of warm-up`,
  );
  const r = await runSoak({ durationMs, warmupMs, intervalMs });
  console.log('\nworkload        sent  received  lost  bad');
  for (const [name, c] of Object.entries(r.tally))
    console.log(
      `${name.padEnd(18)} ${String(c.sent).padStart(8)} ${String(c.received).padStart(9)} ${String(c.lost).padStart(5)} ${String(c.bad).padStart(4)}`,
    );
  console.log(
    `\nRSS ${r.baselineMiB.toFixed(0)} MiB after warm-up → ${r.finalMiB.toFixed(0)} MiB at the end: ${r.growthPct >= 0 ? '+' : ''}${r.growthPct.toFixed(1)} % (allowed ${maxGrowth} %)`,
  );
  if (values.json) writeFileSync(values.json, JSON.stringify(r, null, 2));
  const ok = r.lost === 0 && r.bad === 0 && r.growthPct <= maxGrowth;
  console.log(ok ? 'soak: OK' : 'soak: FAILED');
  process.exit(ok ? 0 : 1);
}

// Run as a command only (the soak test imports runSoak; bundled, import.meta.url is the test's file).
if (/soak\.mjs$/.test(process.argv[1] ?? '') && process.argv[1] === fileURLToPath(import.meta.url)) main();
