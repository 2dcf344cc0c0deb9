#!/usr/bin/env node
// @ts-check
// `npm run bench`: the image workload's transfer (50 × the 533 KB PNG, each hashed and acknowledged by the
// server) timed in one run over raw TCP, WebSocket and gRPC, sequential and concurrent, with
// native Node clients and with k6. Reports medians and ratios measured in the same run:
// protocol vs raw TCP (same client runtime), and k6 vs the native client (same protocol).
// A benchmark, not a test: it asserts nothing but prints what it saw.
//
//   npm run bench -- [--images 50] [--repeat 5]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { k6Bin, runK6, startServers } from './harness.mjs';
import { dist, root } from './paths.mjs';

const IMAGE = readFileSync(join(dist, 'assets', 'image-533k.png'));
const DIGEST = createHash('sha256').update(IMAGE).digest('hex');

// ---- raw TCP baseline: the same work as the image servers (receive, SHA-256, JSON ack) -------
// Frame: 4-byte big-endian length + JSON claim, 4-byte length + image bytes. Ack: one JSON line.

function tcpServer() {
  const server = createServer((sock) => {
    let buf = Buffer.alloc(0);
    /** @type {any} */
    let claim = null;
    sock.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        if (buf.length < 4) return;
        const len = buf.readUInt32BE(0);
        if (buf.length < 4 + len) return;
        const body = buf.subarray(4, 4 + len);
        buf = buf.subarray(4 + len);
        if (!claim) { claim = JSON.parse(body.toString()); continue; }
        const sha256 = createHash('sha256').update(body).digest('hex');
        sock.write(JSON.stringify({ id: claim.id, bytes: body.length, sha256, match: sha256 === claim.sha256 }) + '\n');
        claim = null;
      }
    });
    sock.on('error', () => {});
  });
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    console.log(`tcp ${typeof addr === 'object' && addr ? addr.port : ''}`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

/** @param {number} len */
const u32 = (len) => { const b = Buffer.alloc(4); b.writeUInt32BE(len); return b; };

/**
 * The native clients. Each returns ms from the first send to the last verified ack on an
 * already-open connection, the same span k6's rtb_batch_time measures.
 * @typedef {(count: number, concurrent: boolean) => Promise<number>} Client
 */

/** @param {number} port @returns {Client} */
const tcpClient = (port) => (count, concurrent) => new Promise((resolve, reject) => {
  const sock = createConnection(port, '127.0.0.1');
  const claimed = (/** @type {number} */ id) => Buffer.from(JSON.stringify({ id, size: IMAGE.length, sha256: DIGEST }));
  const send = (/** @type {number} */ id) => { const c = claimed(id); sock.write(Buffer.concat([u32(c.length), c, u32(IMAGE.length)])); sock.write(IMAGE); };
  let started = 0, acked = 0, pending = '';
  sock.on('connect', () => {
    started = performance.now();
    if (concurrent) for (let id = 1; id <= count; id++) send(id); else send(1);
  });
  sock.on('data', (d) => {
    pending += d;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const ack = JSON.parse(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      if (!ack.match) return reject(new Error('tcp: digest mismatch'));
      if (++acked === count) { const ms = performance.now() - started; sock.end(); return resolve(ms); }
      if (!concurrent) send(acked + 1);
    }
  });
  sock.on('error', reject);
});

/** @param {string} url @returns {Client} */
const wsClient = (url) => (count, concurrent) => new Promise((resolve, reject) => {
  const ws = new WebSocket(url);
  const send = (/** @type {number} */ id) => { ws.send(JSON.stringify({ id, size: IMAGE.length, sha256: DIGEST })); ws.send(IMAGE); };
  let started = 0, acked = 0;
  ws.on('open', () => {
    started = performance.now();
    if (concurrent) for (let id = 1; id <= count; id++) send(id); else send(1);
  });
  ws.on('message', (d) => {
    if (!JSON.parse(String(d)).match) return reject(new Error('ws: digest mismatch'));
    if (++acked === count) { const ms = performance.now() - started; ws.close(); return resolve(ms); }
    if (!concurrent) send(acked + 1);
  });
  ws.on('error', reject);
});

/** @param {string} addr @returns {Client} */
function grpcClient(addr) {
  const def = protoLoader.loadSync('image.proto', { includeDirs: [join(root, 'proto')], longs: Number });
  const Service = /** @type {any} */ (grpc.loadPackageDefinition(def)).rtbench.image.v1.ImageService;
  return async (count, concurrent) => {
    const client = new Service(addr, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 16 << 20 });
    await new Promise((r, j) => client.waitForReady(Date.now() + 5000, (/** @type {Error | undefined} */ e) => (e ? j(e) : r(undefined))));
    const call = (/** @type {number} */ id) => new Promise((resolve, reject) =>
      client.Upload({ id, data: IMAGE, size: IMAGE.length, sha256: DIGEST }, (/** @type {any} */ err, /** @type {any} */ ack) =>
        err ? reject(err) : ack.match ? resolve(undefined) : reject(new Error('grpc: digest mismatch'))));
    const started = performance.now();
    if (concurrent) await Promise.all(Array.from({ length: count }, (_, i) => call(i + 1)));
    else for (let id = 1; id <= count; id++) await call(id);
    const ms = performance.now() - started;
    client.close();
    return ms;
  };
}

/** @param {number[]} xs */
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

async function main() {
  const argv = process.argv.slice(2);
  const opt = (/** @type {string} */ name, /** @type {number} */ fallback) => {
    const i = argv.indexOf(name);
    if (i < 0) return fallback;
    const n = Number(argv[i + 1]);
    if (!Number.isInteger(n) || n < 1) { console.error(`bench: ${name} '${argv[i + 1]}' is not a positive whole number`); process.exit(2); }
    return n;
  };
  if (argv.includes('--help')) { console.log('usage: npm run bench -- [--images 50] [--repeat 5]'); return; }
  const images = opt('--images', 50);
  const repeat = opt('--repeat', 5);

  const k6 = await k6Bin();
  const servers = await startServers();
  const tcp = spawn(process.execPath, [fileURLToPath(import.meta.url), '--tcp-server'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const tcpPort = await new Promise((resolve) => tcp.stdout.on('data', (d) => { const m = /tcp (\d+)/.exec(String(d)); if (m) resolve(Number(m[1])); }));
  /** @type {Array<[string, Client]>} */
  const natives = [['raw TCP', tcpClient(Number(tcpPort))], ['WebSocket', wsClient(servers.wsUrl('/image'))], ['gRPC', grpcClient(servers.grpcAddr)]];
  const mb = (images * IMAGE.length) / 1e6;
  console.log(`bench: ${images} × ${IMAGE.length} B (${mb.toFixed(1)} MB) per run, median of ${repeat} runs, first send → last ack`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${(await runVersion(k6)).trim()}`);

  /** @type {Record<string, number>} */
  const result = {};
  try {
    for (const mode of ['sequential', 'concurrent']) {
      for (const [name, client] of natives) {
        await client(images, mode === 'concurrent'); // warm-up, not counted
        const times = [];
        for (let i = 0; i < repeat; i++) times.push(await client(images, mode === 'concurrent'));
        result[`${name} native ${mode}`] = median(times);
        process.stdout.write('.');
      }
      for (const [name, script] of [['WebSocket', 'ws-image.js'], ['gRPC', 'grpc-image.js']]) {
        const times = [];
        for (let i = 0; i < repeat; i++) {
          const run = await runK6(script, { ...servers.env(), IMAGES: String(images), MODE: mode, ITERATIONS: '1' }, { args: ['-q'] });
          if (run.code !== 0) throw new Error(`k6 ${script} ${mode} failed:\n${run.stderr.slice(-1500)}`);
          times.push(run.summary.metrics.rtb_batch_time.med);
        }
        result[`${name} k6 ${mode}`] = median(times);
        process.stdout.write('.');
      }
    }
  } finally {
    tcp.kill('SIGTERM');
    await servers.stop();
  }
  console.log('\n');
  const rows = [['mode', 'client', 'protocol', 'total ms', 'MB/s', '× raw TCP', 'k6 ÷ native']];
  for (const mode of ['sequential', 'concurrent']) {
    const base = result[`raw TCP native ${mode}`];
    for (const client of ['native', 'k6']) {
      for (const proto of ['raw TCP', 'WebSocket', 'gRPC']) {
        const t = result[`${proto} ${client} ${mode}`];
        if (t === undefined) continue;
        const native = result[`${proto} native ${mode}`];
        rows.push([mode, client, proto, t.toFixed(1), (mb / (t / 1000)).toFixed(0), (t / base).toFixed(2), client === 'k6' ? (t / native).toFixed(2) : '']);
      }
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
}

/** @param {string} k6 */
function runVersion(k6) {
  return new Promise((resolve) => { const p = spawn(k6, ['version']); let o = ''; p.stdout.on('data', (d) => (o += d)); p.on('close', () => resolve(o.split('\n')[0])); });
}

if (process.argv.includes('--tcp-server')) tcpServer();
else main().catch((err) => { console.error(`bench: ${err?.stack ?? err}`); process.exit(1); });
