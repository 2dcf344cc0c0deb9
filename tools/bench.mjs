#!/usr/bin/env node
// @ts-check
// `npm run bench`: the instrument's own cost, measured side by side in one run.
//  - The image workload's transfer (50 × the 533 KB PNG, each hashed and acknowledged by the server) over
//    raw TCP, WebSocket and gRPC, sequential and concurrent, with native Node clients and with
//    k6 (k6/net/grpc, and k6/x/measure's raw gRPC client: -e CLIENT=raw).
//  - The echo workload ('hi', one in flight, one connection, a window) over WebSocket, Socket.IO
//    and gRPC, with native Node clients (ws, socket.io-client, @grpc/grpc-js) and with k6.
// Reports medians and ratios from the same run: protocol vs raw TCP (same client runtime), and
// k6 ÷ native (same protocol, same server). A benchmark, not a test: it prints what it saw.
// `measureK6VsNative` is the same measurement for `npm start`'s k6 ÷ native table.
//
//   npm run bench -- [--images 50] [--repeat 5] [--window 2s] [--only image|echo]
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { io } from 'socket.io-client';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { k6Bin, runK6, startServers } from './harness.mjs';
import { dist, root } from './paths.mjs';

// Read on first use: start.mjs imports this module before it has built dist/.
/** @type {{ bytes: Buffer, sha256: string } | undefined} */
let image;
const theImage = () =>
  (image ??= ((bytes) => ({ bytes, sha256: createHash('sha256').update(bytes).digest('hex') }))(
    readFileSync(join(dist, 'assets', 'image-533k.png')),
  ));

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
        if (!claim) {
          claim = JSON.parse(body.toString());
          continue;
        }
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
const u32 = (len) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(len);
  return b;
};

/**
 * The native clients. Each returns ms from the first send to the last verified ack on an
 * already-open connection, the same span k6's rtb_batch_time measures.
 * @typedef {(count: number, concurrent: boolean) => Promise<number>} Client
 */

/** @param {number} port @returns {Client} */
const tcpClient = (port) => (count, concurrent) =>
  new Promise((resolve, reject) => {
    const sock = createConnection(port, '127.0.0.1');
    const claimed = (/** @type {number} */ id) =>
      Buffer.from(JSON.stringify({ id, size: theImage().bytes.length, sha256: theImage().sha256 }));
    const send = (/** @type {number} */ id) => {
      const c = claimed(id);
      sock.write(Buffer.concat([u32(c.length), c, u32(theImage().bytes.length)]));
      sock.write(theImage().bytes);
    };
    let started = 0,
      acked = 0,
      pending = '';
    sock.on('connect', () => {
      started = performance.now();
      if (concurrent) for (let id = 1; id <= count; id++) send(id);
      else send(1);
    });
    sock.on('data', (d) => {
      pending += d;
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const ack = JSON.parse(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        if (!ack.match) return reject(new Error('tcp: digest mismatch'));
        if (++acked === count) {
          const ms = performance.now() - started;
          sock.end();
          return resolve(ms);
        }
        if (!concurrent) send(acked + 1);
      }
    });
    sock.on('error', reject);
  });

/** @param {string} url @returns {Client} */
const wsClient = (url) => (count, concurrent) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const send = (/** @type {number} */ id) => {
      ws.send(JSON.stringify({ id, size: theImage().bytes.length, sha256: theImage().sha256 }));
      ws.send(theImage().bytes);
    };
    let started = 0,
      acked = 0;
    ws.on('open', () => {
      started = performance.now();
      if (concurrent) for (let id = 1; id <= count; id++) send(id);
      else send(1);
    });
    ws.on('message', (d) => {
      if (!JSON.parse(String(d)).match) return reject(new Error('ws: digest mismatch'));
      if (++acked === count) {
        const ms = performance.now() - started;
        ws.close();
        return resolve(ms);
      }
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
    await new Promise((r, j) =>
      client.waitForReady(Date.now() + 5000, (/** @type {Error | undefined} */ e) => (e ? j(e) : r(undefined))),
    );
    const call = (/** @type {number} */ id) =>
      new Promise((resolve, reject) =>
        client.Upload(
          { id, data: theImage().bytes, size: theImage().bytes.length, sha256: theImage().sha256 },
          (/** @type {any} */ err, /** @type {any} */ ack) =>
            err ? reject(err) : ack.match ? resolve(undefined) : reject(new Error('grpc: digest mismatch')),
        ),
      );
    const started = performance.now();
    if (concurrent) await Promise.all(Array.from({ length: count }, (_, i) => call(i + 1)));
    else for (let id = 1; id <= count; id++) await call(id);
    const ms = performance.now() - started;
    client.close();
    return ms;
  };
}

// ---- native echo clients (the echo workload): one connection, 'hi', send → await the echo → next -------

/**
 * Round trips in `windowMs` on one open connection and their median, timed with performance.now().
 * @typedef {(windowMs: number) => Promise<{ trips: number, medMs: number }>} EchoClient
 */

/**
 * Drives one echo loop: `send(done)` sends one message and calls done() when its echo is back.
 * @param {(onEcho: () => void) => void} send @param {number} windowMs
 */
function echoLoop(send, windowMs) {
  return new Promise((resolve) => {
    /** @type {number[]} */
    const rtts = [];
    const end = performance.now() + windowMs;
    const next = () => {
      const t0 = performance.now();
      if (t0 >= end) return resolve({ trips: rtts.length, medMs: median(rtts) });
      send(() => {
        rtts.push(performance.now() - t0);
        next();
      });
    };
    next();
  });
}

/** @param {string} url @returns {EchoClient} */
const wsEcho = (url) => (windowMs) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    /** @type {() => void} */
    let onEcho = () => {};
    ws.on('message', (d) => (String(d) === 'hi' ? onEcho() : reject(new Error(`ws echo: got ${d}`))));
    ws.on('error', reject);
    ws.on('open', () =>
      echoLoop((done) => {
        onEcho = done;
        ws.send('hi');
      }, windowMs).then((r) => {
        ws.close();
        resolve(r);
      }),
    );
  });

/** @param {string} httpUrl @returns {EchoClient} */
const socketioEcho = (httpUrl) => (windowMs) =>
  new Promise((resolve, reject) => {
    const sock = io(httpUrl, { transports: ['websocket'], reconnection: false });
    sock.on('connect_error', reject);
    sock.on('connect', () =>
      echoLoop(
        (done) =>
          sock.emit('echo', 'hi', (/** @type {unknown} */ back) =>
            back === 'hi' ? done() : reject(new Error(`socket.io echo: got ${back}`)),
          ),
        windowMs,
      ).then((r) => {
        sock.close();
        resolve(r);
      }),
    );
  });

/** @param {string} addr @returns {EchoClient} */
function grpcEcho(addr) {
  const def = protoLoader.loadSync('echo.proto', { includeDirs: [join(root, 'proto')], longs: Number });
  const Service = /** @type {any} */ (grpc.loadPackageDefinition(def)).rtbench.echo.v1.EchoService;
  return async (windowMs) => {
    const client = new Service(addr, grpc.credentials.createInsecure());
    await new Promise((r, j) =>
      client.waitForReady(Date.now() + 5000, (/** @type {Error | undefined} */ e) => (e ? j(e) : r(undefined))),
    );
    const call = client.EchoStream();
    /** @type {() => void} */
    let onEcho = () => {};
    let seq = 0;
    call.on('data', (/** @type {any} */ m) =>
      m.seq === seq && String(m.payload) === 'hi' ? onEcho() : call.destroy(new Error('grpc echo: wrong echo')),
    );
    // The call's end (the server's status after our half-close, or an error such as the servers
    // shutting down) is always listened for, so no stream outlives the measurement unheard.
    const ended = new Promise((resolve) => {
      call.on('status', resolve);
      call.on('error', resolve);
    });
    const res = await echoLoop((done) => {
      onEcho = done;
      call.write({ seq: ++seq, payload: Buffer.from('hi') });
    }, windowMs);
    call.end();
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 2000))]);
    client.close();
    return res;
  };
}

/** @param {number[]} xs */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// ---- k6 ÷ native, side by side ------------------------------------------------------------------

/**
 * One row of the side-by-side: what k6 and the native client took for the same work against the
 * same server, in the same run. `k6` and `native` are medians: ms for the image batch; for echo,
 * ms per round trip (window ÷ round trips on one connection).
 * @typedef {{ workload: 'image' | 'echo', mode: string, protocol: string, client: string, k6: number, native: number, ratio: number, k6p50?: number, nativeP50?: number }} SideBySide
 */

const IMAGE_RUNS = /** @type {const} */ ([
  ['WebSocket', 'ws-image.js', 'k6', {}],
  ['gRPC', 'grpc-image.js', 'k6/net/grpc', { CLIENT: 'k6' }],
  ['gRPC', 'grpc-image.js', 'k6/x/measure raw', { CLIENT: 'raw' }],
]);
const ECHO_RUNS = /** @type {const} */ ([
  ['WebSocket', 'ws-echo.js'],
  ['Socket.IO', 'socketio-echo.js'],
  ['gRPC', 'grpc-echo.js'],
]);

/**
 * k6 ÷ native for the image transfer and the echo, per protocol, against running servers: each
 * k6 run is one iteration of one VU (`ITERATIONS=1`), each native client one connection, taken
 * alternately `repeat` times (after one native warm-up each), medians compared.
 * @param {import('./harness.mjs').Servers} servers
 * @param {{ images?: number, repeat?: number, windowMs?: number, workloads?: Array<'image' | 'echo'>, protocols?: string[], onProgress?: () => void }} [o]
 * @returns {Promise<SideBySide[]>}
 */
export async function measureK6VsNative(
  servers,
  { images = 50, repeat = 3, windowMs = 2000, workloads = ['image', 'echo'], protocols, onProgress = () => {} } = {},
) {
  const wanted = (/** @type {string} */ p) => !protocols || protocols.includes(p);
  /** @type {SideBySide[]} */
  const rows = [];
  /** @param {string} script @param {Record<string, string>} env */
  const k6 = async (script, env) => {
    const run = await runK6(script, { ...servers.env(), ...env, ITERATIONS: '1' }, { args: ['-q'] });
    if (run.code !== 0 || !run.summary)
      throw new Error(`k6 ${script} ${JSON.stringify(env)} failed (exit ${run.code}):\n${run.stderr.slice(-1500)}`);
    onProgress();
    return run.summary.metrics;
  };
  if (workloads.includes('image')) {
    /** @type {Record<string, Client>} */
    const natives = { WebSocket: wsClient(servers.wsUrl('/image')), gRPC: grpcClient(servers.grpcAddr) };
    for (const mode of ['sequential', 'concurrent']) {
      for (const protocol of ['WebSocket', 'gRPC']) {
        if (!wanted(protocol)) continue;
        const native = natives[protocol];
        const runs = IMAGE_RUNS.filter((r) => r[0] === protocol);
        await native(images, mode === 'concurrent'); // warm-up, not counted
        /** @type {number[]} */
        const nativeTimes = [];
        /** @type {number[][]} */
        const k6Times = runs.map(() => []);
        // Interleaved, so that a change in the machine's load touches both sides alike.
        for (let i = 0; i < repeat; i++) {
          nativeTimes.push(await native(images, mode === 'concurrent'));
          for (const [j, [, script, , env]] of runs.entries())
            k6Times[j].push((await k6(script, { ...env, IMAGES: String(images), MODE: mode })).rtb_batch_time.med);
        }
        const n = median(nativeTimes);
        for (const [j, [, , client]] of runs.entries())
          rows.push({
            workload: 'image',
            mode,
            protocol,
            client,
            k6: median(k6Times[j]),
            native: n,
            ratio: median(k6Times[j]) / n,
          });
      }
    }
  }
  if (workloads.includes('echo')) {
    /** @type {Record<string, EchoClient>} */
    const natives = {
      WebSocket: wsEcho(servers.wsUrl('/echo')),
      'Socket.IO': socketioEcho(servers.httpUrl),
      gRPC: grpcEcho(servers.grpcAddr),
    };
    const window = `${windowMs}ms`;
    for (const [protocol, script] of ECHO_RUNS) {
      if (!wanted(protocol)) continue;
      const native = natives[protocol];
      await native(Math.min(windowMs, 500)); // warm-up, not counted
      const k6Per = [],
        nativePer = [],
        k6P50 = [],
        nativeP50 = [];
      for (let i = 0; i < repeat; i++) {
        const m = await k6(script, { MODE: 'sequential', WINDOW: window });
        k6Per.push(windowMs / m.rtb_round_trips.avg);
        k6P50.push(m.rtb_latency.med);
        const r = await native(windowMs);
        nativePer.push(windowMs / r.trips);
        nativeP50.push(r.medMs);
      }
      const [k, n] = [median(k6Per), median(nativePer)];
      rows.push({
        workload: 'echo',
        mode: 'sequential',
        protocol,
        client: protocol === 'gRPC' ? 'k6/net/grpc' : 'k6',
        k6: k,
        native: n,
        ratio: k / n,
        k6p50: median(k6P50),
        nativeP50: median(nativeP50),
      });
    }
  }
  return rows;
}

/** Which side-by-side measurement each comparison scenario has: its workload and protocol. */
const SIDE_BY_SIDE = /** @type {Record<string, ['image' | 'echo', string]>} */ ({
  'ws-image.js': ['image', 'WebSocket'],
  'grpc-image.js': ['image', 'gRPC'],
  'ws-echo.js': ['echo', 'WebSocket'],
  'socketio-echo.js': ['echo', 'Socket.IO'],
  'grpc-echo.js': ['echo', 'gRPC'],
});

/**
 * k6 ÷ native for the workloads and protocols among `scripts` (the k6 scenario files a comparison
 * ran): what `npm start` prints under its table. [] when none of them has a native counterpart.
 * @param {string[]} scripts @param {import('./harness.mjs').Servers} servers
 * @param {{ images?: number, repeat?: number, windowMs?: number }} [o]
 */
export async function k6VsNativeFor(scripts, servers, o = {}) {
  const pairs = scripts.map((s) => SIDE_BY_SIDE[s]).filter((p) => p !== undefined);
  if (pairs.length === 0) return [];
  return measureK6VsNative(servers, {
    ...o,
    workloads: [...new Set(pairs.map((p) => p[0]))],
    protocols: [...new Set(pairs.map((p) => p[1]))],
  });
}

/** @param {SideBySide[]} rows @returns {string} */
export function formatK6VsNative(rows) {
  const table = [['workload', 'mode', 'protocol', 'k6 client', 'k6', 'native', 'k6 ÷ native', 'p50 k6 / native ms']];
  for (const r of rows) {
    const unit = r.workload === 'image' ? 'ms/batch' : 'ms/trip';
    table.push([
      r.workload,
      r.mode,
      r.protocol,
      r.client,
      `${r.k6.toFixed(r.k6 < 10 ? 3 : 1)} ${unit}`,
      `${r.native.toFixed(r.native < 10 ? 3 : 1)} ${unit}`,
      r.ratio.toFixed(2),
      r.k6p50 === undefined || r.nativeP50 === undefined ? '' : `${r.k6p50.toFixed(3)} / ${r.nativeP50.toFixed(3)}`,
    ]);
  }
  return [
    ...alignRows(table, 4),
    '',
    'k6 ÷ native: the same work against the same server in the same run, k6 (one VU, one iteration) vs a native Node client',
    '  (ws, socket.io-client, @grpc/grpc-js); medians. image: first send → last ack of the batch; echo: time per round trip',
    '  (window ÷ round trips on one connection). Above 1, the k6 client costs more than the protocol: compare protocols',
    '  with the native column, or with a k6 client whose ratio is near 1.',
  ].join('\n');
}

/** @param {string[][]} rows @param {number} leftColumns @returns {string[]} */
function alignRows(rows, leftColumns) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i < leftColumns ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

const USAGE = `usage: npm run bench -- [options]
  --images N     images per batch (default 50)
  --repeat N     runs per measurement, medians reported (default 5)
  --window D     echo window per run, e.g. 2s or 500ms (default 2s)
  --only W       image or echo (default both)
  --help         this text`;

/** @param {string} flag @param {string | undefined} v */
function positiveInt(flag, v) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} '${v}' is not a positive whole number`);
  return n;
}

async function main() {
  /** @type {{ images: number, repeat: number, windowMs: number, only: Array<'image' | 'echo'> }} */
  let o;
  try {
    const { values } = parseArgs({
      options: {
        images: { type: 'string', default: '50' },
        repeat: { type: 'string', default: '5' },
        window: { type: 'string', default: '2s' },
        only: { type: 'string' },
        help: { type: 'boolean' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return;
    }
    const w = /^(\d+)(ms|s)$/.exec(values.window ?? '');
    if (!w || Number(w[1]) === 0) throw new Error(`--window '${values.window}' is not a duration like 2s or 500ms`);
    if (values.only !== undefined && values.only !== 'image' && values.only !== 'echo')
      throw new Error(`--only '${values.only}': expected image or echo`);
    o = {
      images: positiveInt('--images', values.images),
      repeat: positiveInt('--repeat', values.repeat),
      windowMs: Number(w[1]) * (w[2] === 's' ? 1000 : 1),
      only: values.only ? [/** @type {'image' | 'echo'} */ (values.only)] : ['image', 'echo'],
    };
  } catch (err) {
    console.error(`bench: ${/** @type {Error} */ (err).message}\n\n${USAGE}`);
    process.exit(2);
  }
  const { images, repeat, windowMs } = o;
  const k6 = await k6Bin();
  const servers = await startServers();
  const tcp = spawn(process.execPath, [fileURLToPath(import.meta.url), '--tcp-server'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tcpPort = await new Promise((resolve) =>
    tcp.stdout.on('data', (d) => {
      const m = /tcp (\d+)/.exec(String(d));
      if (m) resolve(Number(m[1]));
    }),
  );
  const mb = (images * theImage().bytes.length) / 1e6;
  console.log(
    `bench: image ${images} × ${theImage().bytes.length} B (${mb.toFixed(1)} MB) per batch; echo 'hi' for ${windowMs} ms per window; median of ${repeat} runs`,
  );
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${(await runVersion(k6)).trim()}`,
  );

  /** @type {Record<string, number>} */
  const tcpTimes = {};
  /** @type {SideBySide[]} */
  let rows;
  try {
    if (o.only.includes('image')) {
      const raw = tcpClient(Number(tcpPort));
      for (const mode of ['sequential', 'concurrent']) {
        await raw(images, mode === 'concurrent');
        const times = [];
        for (let i = 0; i < repeat; i++) times.push(await raw(images, mode === 'concurrent'));
        tcpTimes[mode] = median(times);
      }
    }
    rows = await measureK6VsNative(servers, {
      images,
      repeat,
      windowMs,
      workloads: o.only,
      onProgress: () => process.stdout.write('.'),
    });
  } finally {
    tcp.kill('SIGTERM');
    await servers.stop();
  }
  console.log('\n');
  if (o.only.includes('image')) {
    const table = [['mode', 'client', 'protocol', 'total ms', 'MB/s', '× raw TCP', 'k6 ÷ native']];
    for (const mode of ['sequential', 'concurrent']) {
      const base = tcpTimes[mode];
      const line = (
        /** @type {string} */ client,
        /** @type {string} */ proto,
        /** @type {number} */ t,
        /** @type {string} */ ratio,
      ) => table.push([mode, client, proto, t.toFixed(1), (mb / (t / 1000)).toFixed(0), (t / base).toFixed(2), ratio]);
      line('native', 'raw TCP', base, '');
      const img = rows.filter((r) => r.workload === 'image' && r.mode === mode);
      for (const proto of ['WebSocket', 'gRPC']) {
        const r = img.find((x) => x.protocol === proto);
        if (r) line('native', proto, r.native, '');
      }
      for (const r of img) line(r.client, r.protocol, r.k6, r.ratio.toFixed(2));
    }
    console.log(alignRows(table, 3).join('\n'));
    console.log('');
  }
  console.log(formatK6VsNative(rows));
}

/** @param {string} k6 */
function runVersion(k6) {
  return new Promise((resolve) => {
    const p = spawn(k6, ['version']);
    let o = '';
    p.stdout.on('data', (d) => (o += d));
    p.on('close', () => resolve(o.split('\n')[0]));
  });
}

if (process.argv.includes('--tcp-server')) tcpServer();
else if (process.argv[1] === fileURLToPath(import.meta.url))
  main().catch((err) => {
    console.error(`bench: ${err?.stack ?? err}`);
    process.exit(1);
  });
