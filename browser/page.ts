// The browser test page: one transport per page load, chosen with ?transport=, measured on the
// page's own clock and exposed as `window.rtb` for the test or k6/browser scenario driving it.
// Served by our servers at /browser/ (servers/page.ts), bundled by build.mjs; no CDN.
//
//   ?transport=sse          the feed over the browser's EventSource (it reconnects and resumes
//                           with Last-Event-ID by itself)
//   ?transport=ws           the feed over a WebSocket (/feed, subscribe)
//   ?transport=socketio     echo round trips with the official socket.io-client, default
//                           transports (long-polling, then the upgrade to WebSocket)
//   ?transport=socketio-ws  the same, transports: ['websocket'] only
//   ?transport=grpc         SubscribeOrders through the bridge with @improbable-eng/grpc-web and
//                           its WebsocketTransport (server streaming: the gRPC feed)
//   ?transport=grpc-calls   one call of each kind through the bridge with the same client: unary
//                           Echo, server-streaming SubscribeOrders, bidi EchoStream; their
//                           responses (protobuf bytes, base64) and statuses in `rtb.calls`
// Settings: count (messages, 50), rate (messages/s, 20), bytes (payload, 64), channel (feed
// channel, a fresh one per page), busy (ms of main-thread work per animation frame, 0),
// streams (SSE only: EventSources opened at once on one channel, 1), timeoutMs (30000).
//
// How latency is taken (`rtb.measure`):
//   oneway (sse, ws, grpc)  page wall clock when the message event ran, performance.timeOrigin +
//                           performance.now(), minus the server's send stamp (feed `t`, order
//                           `serverSendMs`: also performance.timeOrigin + performance.now(), in
//                           the server process). Both read the one host's wall clock, each at its
//                           own time origin, so the figure is good to well under a millisecond on
//                           one machine, not across machines.
//   rtt (socketio*)         performance.now() at emit → performance.now() when the ack ran.
// Either way it includes the wait for the main thread: a busy page delays the handler.
import { io, type Socket } from 'socket.io-client';
import grpcWeb from '@improbable-eng/grpc-web';
import { Root } from 'protobufjs/light';
import protos from 'rtbench:protos';
import type { PageResults } from '../contracts/browser-page.ts';

const { grpc } = grpcWeb;

export type Results = PageResults;

const params = new URLSearchParams(location.search);
const num = (name: string, def: number, min = 0, max = 1e6) => {
  const raw = params.get(name);
  const v = raw === null ? def : Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new Error(`?${name}=${raw}: a number from ${min} to ${max}`);
  return v;
};
const transport = params.get('transport') ?? 'sse';
const count = num('count', 50, 1, 100_000);
const rate = num('rate', 20, 1, 10_000);
const bytes = num('bytes', 64, 1, 1_000_000);
const busy = num('busy', 0, 0, 1000);
const streams = num('streams', 1, 1, 64);
const timeoutMs = num('timeoutMs', 30_000, 100, 600_000);
const channel = params.get('channel') ?? `browser-${Math.random().toString(36).slice(2, 10)}`;
// The servers' token (--token), when they require one: ?token= on the page's URL, passed on as a
// Bearer header on fetches, Socket.IO's auth, and a token query parameter on WebSocket and
// EventSource URLs (a browser cannot set their headers).
const token = params.get('token') ?? '';
const withToken = (url: string) =>
  token === '' ? url : `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
const authHeaders = (): Record<string, string> => (token === '' ? {} : { authorization: `Bearer ${token}` });
/** improbable's WebsocketTransport, with the token on each call's URL (after /<Service>/<Method>). */
const wsTransport = (): ReturnType<typeof grpc.WebsocketTransport> => {
  const base = grpc.WebsocketTransport();
  return (opts: Parameters<typeof base>[0]) => base({ ...opts, url: withToken(opts.url) });
};

const rtb: Results = {
  transport,
  measure: transport.startsWith('socketio') ? 'rtt' : 'oneway',
  connectMs: [],
  latencies: [],
  delivered: 0,
  payloadBytes: 0,
  lost: 0,
  duplicates: 0,
  reconnects: 0,
  errors: [],
  opened: [],
  done: false,
};
(window as unknown as { rtb: Results }).rtb = rtb;

const wallNow = () => performance.timeOrigin + performance.now();
const show = (text: string) => {
  const el = document.getElementById('status');
  if (el) el.textContent = text;
};

/** Sequence bookkeeping shared by every transport: losses are gaps, duplicates are repeats. */
class Sequence {
  private last = 0;
  private readonly seen = new Set<number>();
  constructor(first = 0) {
    this.last = first;
  }
  /** True when `seq` is new. */
  add(seq: number): boolean {
    if (this.seen.has(seq) || seq <= this.last - 10_000) {
      rtb.duplicates++;
      return false;
    }
    this.seen.add(seq);
    if (this.last > 0 && seq > this.last + 1) rtb.lost += seq - this.last - 1;
    if (seq > this.last) this.last = seq;
    return true;
  }
}

let finish: () => void = () => {};
const finished = new Promise<void>((resolve) => (finish = resolve));
const end = () => {
  rtb.done = true;
  show(`done: ${rtb.delivered} messages`);
  finish();
};
const deliveredOne = (latency: number, payload: number) => {
  rtb.latencies.push(latency);
  rtb.delivered++;
  rtb.payloadBytes += payload;
  if (rtb.delivered >= count * streams) end();
};

// Main-thread load: `busy` ms of work in every animation frame.
if (busy > 0) {
  const spin = () => {
    const until = performance.now() + busy;
    while (performance.now() < until) {
      /* busy */
    }
    if (!rtb.done) requestAnimationFrame(spin);
  };
  requestAnimationFrame(spin);
}

async function declareChannel(): Promise<void> {
  const res = await fetch('/feed/channels', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeaders() },
    body: JSON.stringify({ name: channel, rate, bytes }),
  });
  if (res.status !== 200 && res.status !== 201)
    throw new Error(`POST /feed/channels: ${res.status} ${await res.text()}`);
}

interface FeedMessage {
  seq: number;
  t: number;
  ch: string;
  p: string;
}

async function sse(): Promise<void> {
  await declareChannel();
  const started = performance.now();
  const sources: EventSource[] = [];
  for (let i = 0; i < streams; i++) {
    rtb.opened.push(null);
    const seq = new Sequence();
    const es = new EventSource(withToken(`/sse?channel=${encodeURIComponent(channel)}`));
    let opening = performance.now();
    let taken = 0;
    es.onopen = () => {
      rtb.connectMs.push(performance.now() - opening);
      rtb.opened[i] ??= performance.now() - started;
    };
    es.onerror = () => {
      // The browser reconnects by itself after the server's `retry`, with Last-Event-ID.
      if (es.readyState === EventSource.CONNECTING) {
        rtb.reconnects++;
        opening = performance.now();
      } else rtb.errors.push(`EventSource ${i} closed`);
    };
    es.addEventListener('reset', (e) => rtb.errors.push(`reset: ${(e as MessageEvent).data}`));
    es.onmessage = (e) => {
      const at = wallNow();
      const msg = JSON.parse(e.data) as FeedMessage;
      if (!seq.add(msg.seq) || taken >= count) return;
      taken++;
      deliveredOne(at - msg.t, msg.p.length);
    };
    sources.push(es);
  }
  rtb.closeStream = (i) => sources[i]?.close();
  await finished;
  for (const es of sources) es.close();
}

async function ws(): Promise<void> {
  await declareChannel();
  const seq = new Sequence();
  let lastSeq: number | undefined;
  const connect = () => {
    const opening = performance.now();
    const sock = new WebSocket(withToken(`${location.origin.replace(/^http/, 'ws')}/feed`));
    sock.onopen = () => {
      rtb.connectMs.push(performance.now() - opening);
      sock.send(JSON.stringify({ op: 'subscribe', channel, ...(lastSeq !== undefined ? { after: lastSeq } : {}) }));
    };
    sock.onmessage = (e) => {
      const at = wallNow();
      const msg = JSON.parse(e.data as string) as FeedMessage & { op?: string };
      if (msg.op) {
        if (msg.op === 'reset') rtb.errors.push(`reset: ${e.data}`);
        return;
      }
      lastSeq = msg.seq;
      if (seq.add(msg.seq)) deliveredOne(at - msg.t, msg.p.length);
      if (rtb.done) sock.close(1000);
    };
    sock.onclose = (e) => {
      if (rtb.done) return;
      // Like EventSource, come back and resume after the last message seen.
      rtb.reconnects++;
      rtb.errors.length < 20 && e.code !== 1006 && rtb.errors.push(`ws close ${e.code}`);
      setTimeout(connect, 500);
    };
  };
  connect();
  await finished;
}

async function socketio(websocketOnly: boolean): Promise<void> {
  const opening = performance.now();
  const socket: Socket = io(location.origin, {
    ...(websocketOnly ? { transports: ['websocket'] } : {}),
    ...(token ? { auth: { token } } : {}),
  });
  socket.on('connect', () => rtb.connectMs.push(performance.now() - opening));
  socket.io.on('reconnect', () => rtb.reconnects++);
  socket.on('connect_error', (err) => rtb.errors.push(`connect_error: ${err.message}`));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const payload = 'x'.repeat(bytes);
  const seq = new Sequence();
  let sent = 0;
  const timer = setInterval(() => {
    if (sent >= count) return clearInterval(timer);
    const n = ++sent;
    const t0 = performance.now();
    socket.emit('echo', n, payload, (back: number, p: string) => {
      const rtt = performance.now() - t0;
      if (p !== payload) rtb.errors.push(`echo ${n} came back different`);
      else if (seq.add(back)) deliveredOne(rtt, p.length);
    });
  }, 1000 / rate);
  await finished;
  clearInterval(timer);
  rtb.socketioTransport = socket.io.engine.transport.name;
  socket.close();
}

class Raw {
  constructor(readonly bytes: Uint8Array = new Uint8Array(0)) {}
  static deserializeBinary(b: Uint8Array) {
    return new Raw(b);
  }
  serializeBinary() {
    return this.bytes;
  }
  toObject() {
    return {};
  }
}

async function grpcFeed(): Promise<void> {
  const root = Root.fromJSON(protos);
  const Filter = root.lookupType('rtbench.orders.v1.OrderFilter');
  const Order = root.lookupType('rtbench.orders.v1.Order');
  const seq = new Sequence();
  const opening = performance.now();
  const request = Filter.encode(
    Filter.fromObject({ count, intervalMs: Math.round(1000 / rate), noteBytes: bytes }),
  ).finish();
  grpc.invoke(
    {
      methodName: 'SubscribeOrders',
      service: { serviceName: 'rtbench.orders.v1.OrderService' },
      requestStream: false,
      responseStream: true,
      requestType: Raw,
      responseType: Raw,
    },
    {
      host: `${location.origin}/grpc-ws`,
      transport: wsTransport(),
      request: new Raw(request),
      onHeaders: () => rtb.connectMs.push(performance.now() - opening),
      onMessage: (m) => {
        const at = wallNow();
        const order = Order.decode((m as Raw).bytes) as unknown as {
          seq: number | { toNumber(): number };
          serverSendMs: number;
          note: Uint8Array;
        };
        const n = typeof order.seq === 'number' ? order.seq : order.seq.toNumber();
        if (seq.add(n)) deliveredOne(at - order.serverSendMs, order.note.length);
      },
      onEnd: (code, message) => {
        if (code !== grpc.Code.OK) rtb.errors.push(`grpc ${code} ${message}`);
        if (!rtb.done) end();
      },
    },
  );
  await finished;
}

const toBase64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));

/** One call with the official client: `requests` sent, then the finish-send; resolves at its end. */
function officialCall(
  service: string,
  method: string,
  kind: { requestStream: boolean; responseStream: boolean },
  requests: Uint8Array[],
) {
  return new Promise<{ code: number; message: string; responses: string[] }>((resolve) => {
    const responses: string[] = [];
    const client = grpc.client(
      { methodName: method, service: { serviceName: service }, ...kind, requestType: Raw, responseType: Raw },
      { host: `${location.origin}/grpc-ws`, transport: wsTransport() },
    );
    client.onMessage((m) => responses.push(toBase64((m as Raw).bytes)));
    client.onEnd((code, message) => resolve({ code, message, responses }));
    client.start({ 'x-rtbench': 'browser' });
    for (const r of requests) client.send(new Raw(r));
    client.finishSend();
  });
}

async function grpcCalls(): Promise<void> {
  const root = Root.fromJSON(protos);
  const Echo = root.lookupType('rtbench.echo.v1.EchoMessage');
  const Filter = root.lookupType('rtbench.orders.v1.OrderFilter');
  const echo = (seq: number) =>
    Echo.encode(Echo.fromObject({ seq, payload: new TextEncoder().encode(`browser ${seq}`) })).finish();
  const ECHO = 'rtbench.echo.v1.EchoService';
  const opening = performance.now();
  rtb.calls = {
    Echo: await officialCall(ECHO, 'Echo', { requestStream: false, responseStream: false }, [echo(1)]),
    SubscribeOrders: await officialCall(
      'rtbench.orders.v1.OrderService',
      'SubscribeOrders',
      { requestStream: false, responseStream: true },
      [Filter.encode(Filter.fromObject({ count: 5, intervalMs: 0, noteBytes: 16 })).finish()],
    ),
    EchoStream: await officialCall(ECHO, 'EchoStream', { requestStream: true, responseStream: true }, [
      echo(1),
      echo(2),
      echo(3),
    ]),
  };
  rtb.connectMs.push(performance.now() - opening);
  for (const [name, c] of Object.entries(rtb.calls))
    if (c.code !== grpc.Code.OK) rtb.errors.push(`${name}: ${c.code} ${c.message}`);
  end();
}

const run: Record<string, () => Promise<void>> = {
  sse,
  ws,
  socketio: () => socketio(false),
  'socketio-ws': () => socketio(true),
  grpc: grpcFeed,
  'grpc-calls': grpcCalls,
};

show(`running ${transport}`);
const timeout = setTimeout(() => {
  rtb.errors.push(`timed out after ${timeoutMs} ms with ${rtb.delivered} of ${count * streams} messages`);
  end();
}, timeoutMs);
(
  run[transport] ?? (() => Promise.reject(new Error(`?transport=${transport}: one of ${Object.keys(run).join(', ')}`)))
)()
  .catch((err: unknown) => {
    rtb.errors.push(String((err as Error)?.message ?? err));
    end();
  })
  .finally(() => clearTimeout(timeout));
