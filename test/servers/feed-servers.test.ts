// The push feed over SSE and WebSocket, driven by real clients against the real server:
// resume after a drop with nothing lost (our own code paths and a stock EventSource), an
// explicit reset when too far behind, slow clients dropped instead of buffered without bound,
// and bad requests answered with specific errors while the server keeps serving.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { EventSource } from 'eventsource';
import { io as officialClient, type Socket as OfficialSocket } from 'socket.io-client';
import { suiteServers, waitFor } from '../helpers.ts';

const suite = suiteServers({ servers: [] }); // its after() checks a clean exit with SSE streams open

const post = (path: string, body?: unknown) =>
  fetch(`${suite.servers.httpUrl}${path}`, {
    method: 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
const declare = async (name: string, rate: number, bytes = 16) =>
  assert.ok([200, 201].includes((await post('/feed/channels', { name, rate, bytes })).status));

interface Msg {
  seq: number;
  t: number;
  ch: string;
  p: string;
}

/** Reads an SSE stream with fetch until `until` says stop; returns the parsed events. */
async function readSse(
  path: string,
  headers: Record<string, string>,
  until: (events: Array<{ id?: string; event?: string; data: string }>) => boolean,
) {
  const ctrl = new AbortController();
  const res = await fetch(`${suite.servers.httpUrl}${path}`, { headers, signal: ctrl.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const events: Array<{ id?: string; event?: string; data: string }> = [];
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      const ev: { id?: string; event?: string; data: string } = { data: '' };
      for (const line of block.split('\n')) {
        const [k, ...v] = line.split(': ');
        if (k === 'id') ev.id = v.join(': ');
        else if (k === 'event') ev.event = v.join(': ');
        else if (k === 'data') ev.data = v.join(': ');
      }
      if (ev.data) events.push(ev);
    }
    if (until(events)) break;
  }
  ctrl.abort();
  return events;
}

describe('SSE /sse', () => {
  test('streams sequenced, stamped messages and resumes from Last-Event-ID out of the buffer', async () => {
    await declare('sse-resume', 50);
    const first = await readSse('/sse?channel=sse-resume', {}, (ev) => ev.length >= 5);
    const msgs = first.map((e) => JSON.parse(e.data) as Msg);
    for (const [i, m] of msgs.entries()) {
      assert.equal(m.seq, msgs[0]!.seq + i, 'consecutive sequence numbers');
      assert.equal(first[i]!.id, String(m.seq), 'the SSE id is the sequence number');
      assert.equal(m.p.length, 16);
      assert.ok(Math.abs(m.t - Date.now()) < 5000);
    }
    const last = msgs.at(-1)!.seq;
    await new Promise((r) => setTimeout(r, 200)); // the channel moves on meanwhile
    const resumed = await readSse(
      '/sse?channel=sse-resume',
      { 'last-event-id': String(last) },
      (ev) => ev.length >= 15,
    );
    assert.deepEqual(
      resumed.slice(0, 15).map((e) => JSON.parse(e.data).seq),
      Array.from({ length: 15 }, (_, i) => last + 1 + i),
      'replay continues exactly after the last id',
    );
  });

  test('a client too far behind gets an explicit reset event, not a silent gap', async () => {
    await declare('sse-far', 0);
    for (let i = 0; i < 2100; i++) await post('/feed/publish?channel=sse-far'); // replay buffer holds 2000
    const events = await readSse('/sse?channel=sse-far', { 'last-event-id': '1' }, (ev) => ev.length >= 2);
    assert.equal(events[0]!.event, 'reset');
    assert.deepEqual(JSON.parse(events[0]!.data).requested, 2);
    assert.equal(JSON.parse(events[0]!.data).oldest, 101);
    assert.equal(JSON.parse(events[1]!.data).seq, 101);
  });

  test('a stock EventSource client resumes after the server drops it, with nothing lost', async () => {
    await declare('stock', 40);
    const seqs: number[] = [];
    let errors = 0;
    const es = new EventSource(`${suite.servers.httpUrl}/sse?channel=stock`);
    es.onmessage = (e) => seqs.push(JSON.parse(e.data).seq);
    es.onerror = () => errors++;
    try {
      await waitFor('first messages', () => seqs.length >= 5);
      const dropped = (await (await post('/feed/drop?channel=stock')).json()) as { dropped: number };
      assert.equal(dropped.dropped, 1);
      const before = seqs.length;
      await waitFor('messages after the reconnect', () => seqs.length >= before + 20, 10_000);
      assert.ok(errors >= 1, 'the client saw the drop');
      for (let i = 1; i < seqs.length; i++)
        assert.equal(
          seqs[i],
          seqs[i - 1]! + 1,
          `no gap or duplicate at ${i}: ${seqs.slice(Math.max(0, i - 3), i + 3)}`,
        );
    } finally {
      es.close();
    }
  });

  test('a client that stops reading is dropped, not buffered without bound', async () => {
    await declare('slow', 200, 64 * 1024); // ~13 MB/s into a socket nobody reads
    const before = (await (await fetch(`${suite.servers.httpUrl}/stats`)).json()) as {
      protocols: { sse?: { errors: number } };
    };
    const port = Number(new URL(suite.servers.httpUrl).port);
    const sock = connect(port, '127.0.0.1');
    sock.write('GET /sse?channel=slow HTTP/1.1\r\nHost: x\r\n\r\n');
    sock.pause(); // never read
    const closed = new Promise((r) => sock.on('close', r));
    await waitFor(
      'the server to drop the slow client',
      async () => {
        const s = (await (await fetch(`${suite.servers.httpUrl}/stats`)).json()) as {
          protocols: { sse?: { errors: number } };
        };
        return (s.protocols.sse?.errors ?? 0) > (before.protocols.sse?.errors ?? 0);
      },
      10_000,
    );
    sock.resume();
    await closed;
    await fetch(`${suite.servers.httpUrl}/feed/channels?name=slow`, { method: 'DELETE' });
  });

  test('bad requests get specific HTTP errors and the server keeps serving', async () => {
    const cases: Array<[Promise<Response>, number, RegExp]> = [
      [fetch(`${suite.servers.httpUrl}/sse?channel=nope`), 404, /unknown channel 'nope'/],
      [fetch(`${suite.servers.httpUrl}/sse`), 400, /channel is required/],
      [
        fetch(`${suite.servers.httpUrl}/sse?channel=stock`, { headers: { 'last-event-id': 'abc' } }),
        400,
        /Last-Event-ID must be a message sequence number, got 'abc'/,
      ],
      [fetch(`${suite.servers.httpUrl}/sse?channel=stock&retry=soon`), 400, /retry must be milliseconds, got 'soon'/],
      [post('/feed/channels', { name: 'x', rate: -1, bytes: 1 }), 400, /rate must be/],
      [post('/feed/channels', { name: 'has space', rate: 1, bytes: 1 }), 400, /name must be/],
      [post('/feed/channels', { name: 'stock', rate: 41, bytes: 16 }), 409, /exists with rate 40/],
      [
        fetch(`${suite.servers.httpUrl}/feed/channels`, {
          method: 'POST',
          body: '{oops',
          headers: { 'content-type': 'application/json' },
        }),
        400,
        /not valid JSON/,
      ],
      [
        fetch(`${suite.servers.httpUrl}/feed/channels`, { method: 'POST', body: '{"name":"cors","rate":1,"bytes":1}' }),
        415,
        /takes Content-Type: application\/json/,
      ],
      [post('/feed/drop?channel=ghost'), 404, /unknown channel 'ghost'/],
    ];
    for (const [req, status, error] of cases) {
      const res = await req;
      assert.equal(res.status, status);
      assert.match(((await res.json()) as { error: string }).error, error);
    }
    const ok = await readSse('/sse?channel=stock', {}, (ev) => ev.length >= 1);
    assert.ok(ok.length >= 1, 'the server still streams'); // one read may hold more than one event
  });
});

describe('WebSocket /feed', () => {
  const exchange = (frames: Array<string | Buffer>, want: number) =>
    new Promise<{ msgs: Array<Record<string, unknown>>; code?: number; reason?: string }>((resolve, reject) => {
      const ws = new WebSocket(suite.servers.wsUrl('/feed'));
      const msgs: Array<Record<string, unknown>> = [];
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`only ${msgs.length} messages`));
      }, 5000);
      ws.on('open', () => frames.forEach((f) => ws.send(f)));
      ws.on('message', (d) => {
        msgs.push(JSON.parse(String(d)));
        if (msgs.length === want) {
          clearTimeout(timer);
          ws.close();
          resolve({ msgs: msgs.slice() }); // what arrives while the close completes is not part of it
        }
      });
      ws.on('close', (code, reason) => {
        clearTimeout(timer);
        resolve({ msgs, code, reason: String(reason) });
      });
      ws.on('error', () => {});
    });

  test('subscribe, then sequenced messages; resume with "after" replays exactly the rest', async () => {
    await declare('ws-resume', 50);
    const { msgs } = await exchange([JSON.stringify({ op: 'subscribe', channel: 'ws-resume' })], 6);
    assert.equal(msgs[0]!.op, 'subscribed');
    const seqs = msgs.slice(1).map((m) => m.seq as number);
    assert.deepEqual(
      seqs,
      Array.from({ length: 5 }, (_, i) => seqs[0]! + i),
    );
    const last = seqs.at(-1)!;
    const resumed = await exchange([JSON.stringify({ op: 'subscribe', channel: 'ws-resume', after: last })], 11);
    assert.deepEqual(
      resumed.msgs.slice(1).map((m) => m.seq),
      Array.from({ length: 10 }, (_, i) => last + 1 + i),
    );
  });

  const bad: Array<[string, Array<string | Buffer>, number, RegExp]> = [
    ['a frame that is not JSON', ['subscribe me'], 1007, /expected a JSON text frame/],
    ['a binary frame', [Buffer.from('{}')], 1007, /expected a JSON text frame/],
    ['an unknown op', [JSON.stringify({ op: 'publish' })], 1008, /unknown op "publish"/],
    ['an unknown channel', [JSON.stringify({ op: 'subscribe', channel: 'ghost' })], 1008, /unknown channel 'ghost'/],
    [
      'a bad resume point',
      [JSON.stringify({ op: 'subscribe', channel: 'ws-resume', after: -3 })],
      1008,
      /after must be a sequence number/,
    ],
    [
      'a second subscribe',
      [
        JSON.stringify({ op: 'subscribe', channel: 'ws-resume' }),
        JSON.stringify({ op: 'subscribe', channel: 'ws-resume' }),
      ],
      1008,
      /already subscribed/,
    ],
  ];
  for (const [what, frames, code, reason] of bad) {
    test(`${what} → close ${code} with a reason; the server keeps serving`, async () => {
      const res = await exchange(frames, 1000);
      assert.equal(res.code, code);
      assert.match(res.reason!, reason);
      const ok = await exchange([JSON.stringify({ op: 'subscribe', channel: 'ws-resume' })], 2);
      assert.equal(ok.msgs[1]!.ch, 'ws-resume');
    });
  }
});

describe('Socket.IO subscribe (servers/socketio-feed.ts), with the official socket.io-client', () => {
  const connectSio = () =>
    new Promise<OfficialSocket>((resolve, reject) => {
      const socket = officialClient(suite.servers.httpUrl, { transports: ['websocket'], reconnection: false });
      socket.on('connect', () => resolve(socket));
      socket.on('connect_error', reject);
    });

  test('streams the channel as `feed` events, resumes with `after`, and refuses bad subscriptions', async () => {
    await declare('sio-feed', 50);
    const socket = await connectSio();
    try {
      const got: Msg[] = [];
      const five = new Promise<void>((resolve) =>
        socket.on('feed', (json: string) => got.push(JSON.parse(json)) === 5 && resolve()),
      );
      assert.deepEqual(await socket.timeout(5000).emitWithAck('subscribe', { channel: 'sio-feed' }), {
        channel: 'sio-feed',
      });
      await five;
      for (const [i, m] of got.entries()) assert.equal(m.seq, got[0]!.seq + i, 'consecutive sequence numbers');
      assert.match(
        String((await socket.timeout(5000).emitWithAck('subscribe', { channel: 'sio-feed' })).error),
        /already subscribed/,
      );
    } finally {
      socket.disconnect();
    }
    const again = await connectSio();
    try {
      const unknown = await again.timeout(5000).emitWithAck('subscribe', { channel: 'no-such-channel' });
      assert.match(String(unknown.error), /unknown channel 'no-such-channel'/);
      assert.match(
        String((await again.timeout(5000).emitWithAck('subscribe', { channel: 7 })).error),
        /channel must be a string/,
      );
      assert.match(
        String((await again.timeout(5000).emitWithAck('subscribe', { channel: 'sio-feed', after: -1 })).error),
        /after must be a sequence number/,
      );
      const first = new Promise<Msg>((resolve) => again.once('feed', (json: string) => resolve(JSON.parse(json))));
      assert.deepEqual(await again.timeout(5000).emitWithAck('subscribe', { channel: 'sio-feed', after: 1 }), {
        channel: 'sio-feed',
      });
      assert.equal((await first).seq, 2, 'replayed from the buffer after seq 1');
    } finally {
      again.disconnect();
    }
  });
});

describe('Socket.IO connection state recovery (servers/lib/socketio-recovery.ts)', () => {
  test('the official client, cut by the feed, gets its session back and the stream goes on: no second subscribe, nothing lost or repeated', async () => {
    await declare('sio-recover', 50);
    const socket = officialClient(suite.servers.httpUrl, {
      transports: ['websocket'],
      reconnectionDelay: 50,
      reconnectionDelayMax: 200,
    });
    try {
      const got: number[] = [];
      const offsets: unknown[] = [];
      socket.on('feed', (json: string, offset: unknown) => {
        got.push((JSON.parse(json) as Msg).seq);
        offsets.push(offset);
      });
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      assert.equal(socket.recovered, false, 'a first connection recovers nothing');
      const sid = socket.id;
      assert.deepEqual(await socket.timeout(5000).emitWithAck('subscribe', { channel: 'sio-recover' }), {
        channel: 'sio-recover',
      });
      await waitFor('five messages', () => got.length >= 5);
      assert.ok(
        offsets.every((o) => typeof o === 'string' && o.length > 0),
        'each event carries its offset last',
      );
      const reconnected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const dropped = (await (await post('/feed/drop?channel=sio-recover')).json()) as { dropped: number };
      assert.equal(dropped.dropped, 1);
      const before = got.length;
      await reconnected;
      assert.equal(socket.recovered, true, 'the session was recovered');
      assert.equal(socket.id, sid, 'with the same socket id');
      await waitFor('messages after the recovery', () => got.length >= before + 10);
      for (const [i, seq] of got.entries())
        assert.equal(seq, got[0]! + i, `consecutive, none lost or repeated: ${got}`);
      assert.match(
        String((await socket.timeout(5000).emitWithAck('subscribe', { channel: 'sio-recover' })).error),
        /already subscribed/,
        'the recovered connection is still subscribed',
      );
    } finally {
      socket.disconnect();
    }
  });

  test('a session is restored once, with its pid and an offset it was sent; otherwise a fresh one', async () => {
    await declare('sio-pid', 50);
    /** One raw Engine.IO WebSocket: CONNECT with `auth`; resolves with the ack and the feed events seen. */
    const session = (auth: unknown, subscribe: boolean, events = 3) =>
      new Promise<{ ack: { sid: string; pid: string }; offsets: string[]; seqs: number[]; ws: WebSocket }>(
        (resolve, reject) => {
          const ws = new WebSocket(`${suite.servers.wsUrl('/socket.io/')}?EIO=4&transport=websocket`);
          const offsets: string[] = [];
          const seqs: number[] = [];
          let ack: { sid: string; pid: string } | undefined;
          const timer = setTimeout(() => {
            ws.terminate();
            reject(new Error(`timed out: ack ${JSON.stringify(ack)}, ${seqs.length} events`));
          }, 5000);
          const done = () => {
            if (!ack || seqs.length < events) return;
            clearTimeout(timer);
            resolve({ ack, offsets, seqs, ws });
          };
          ws.on('message', (d: Buffer) => {
            const m = d.toString();
            if (m.startsWith('0{')) ws.send(`40${auth === undefined ? '' : JSON.stringify(auth)}`);
            else if (m === '2') ws.send('3');
            else if (m.startsWith('40{')) {
              ack = JSON.parse(m.slice(2));
              if (subscribe) ws.send(`420${JSON.stringify(['subscribe', { channel: 'sio-pid' }])}`);
              done();
            } else if (m.startsWith('42[')) {
              const [name, json, offset] = JSON.parse(m.slice(2)) as [string, string, string];
              if (name !== 'feed') return;
              seqs.push((JSON.parse(json) as Msg).seq);
              offsets.push(offset);
              done();
            }
          });
          ws.on('error', reject);
        },
      );
    const cut = async (ws: WebSocket) => {
      ws.terminate(); // gone without a goodbye: a recoverable disconnect
      await new Promise((r) => setTimeout(r, 100)); // the server sees the close
    };
    const first = await session(undefined, true);
    assert.match(first.ack.pid, /^\S+$/, 'the CONNECT ack carries a pid');
    const offset = first.offsets.at(-1)!;
    await cut(first.ws);
    const second = await session({ pid: first.ack.pid, offset }, false);
    assert.equal(second.ack.pid, first.ack.pid, 'recovered: the same pid');
    assert.equal(second.ack.sid, first.ack.sid, 'and the same socket id');
    assert.equal(second.seqs[0], first.seqs.at(-1)! + 1, 'the stream goes on after the last event read');
    // While the recovered connection lives, its session cannot be taken again.
    const third = await session({ pid: first.ack.pid, offset }, false, 0);
    assert.notEqual(third.ack.pid, first.ack.pid, 'a live session is not restored a second time');
    assert.notEqual(third.ack.sid, first.ack.sid);
    await cut(third.ws);
    // Once it is gone again it can be recovered again, from where it was.
    await cut(second.ws);
    const fourth = await session({ pid: first.ack.pid, offset: second.offsets.at(-1)! }, false, 1);
    assert.equal(fourth.ack.pid, first.ack.pid);
    assert.equal(fourth.seqs[0], second.seqs.at(-1)! + 1);
    await cut(fourth.ws);
  });
});

test('POST /feed/drop?all=true cuts every subscriber of every channel at once (the reconnect storm)', async () => {
  await declare('storm-a', 20);
  await declare('storm-b', 20);
  const sockets = ['storm-a', 'storm-b', 'storm-b'].map((channel) => {
    const ws = new WebSocket(suite.servers.wsUrl('/feed'));
    ws.on('open', () => ws.send(JSON.stringify({ op: 'subscribe', channel })));
    return {
      ws,
      subscribed: new Promise((r) => ws.on('message', (d) => JSON.parse(String(d)).op === 'subscribed' && r(true))),
      closed: new Promise((r) => ws.on('close', r)),
    };
  });
  try {
    await Promise.all(sockets.map((s) => s.subscribed));
    const res = (await (await post('/feed/drop?all=true')).json()) as { dropped: number };
    assert.ok(res.dropped >= 3, `dropped ${res.dropped}`);
    await Promise.all(sockets.map((s) => s.closed));
  } finally {
    for (const s of sockets) s.ws.terminate();
  }
});
