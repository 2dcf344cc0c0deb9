// The server's bounded store for Socket.IO connection state recovery (servers/lib/socketio-recovery.ts),
// driven in-process the way socket.io drives it: broadcast() for every emitted event, persistSession()
// when a socket drops, restoreSession(pid, offset) when a client comes back. What it keeps stays within
// its bounds, and anything but a kept offset of a disconnected session restores nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as parser from 'socket.io-parser';
import { recoveryAdapter } from '../../servers/lib/socketio-recovery.ts';

type Store = {
  broadcast(packet: { type: number; id?: number; data: unknown[] }, opts: object): void;
  persistSession(s: { sid: string; pid: string; rooms: string[]; data: unknown }): void;
  restoreSession(pid: string, offset: string): Promise<{ sid: string; missedPackets: unknown[][] } | null>;
  keeping(): { packets: number; bytes: number; sessions: number; rooms: number };
  close(): void;
};

function store(limits: { windowMs: number; maxBytes: number; maxSessions: number }): Store {
  const Adapter = recoveryAdapter(limits) as unknown as new (nsp: unknown) => Store;
  // The namespace as the in-memory adapter uses it: a name, the server's encoder, its sockets.
  return new Adapter({ name: '/', server: { encoder: new parser.Encoder() }, sockets: new Map() });
}

const event = (...args: unknown[]) => ({ type: 2, data: ['feed', ...args] });
const to = (...rooms: string[]) => ({ rooms: new Set(rooms), except: new Set<string>() });

test('every event without an ack gets an increasing offset, kept for a session of its rooms', async () => {
  const s = store({ windowMs: 60_000, maxBytes: 1 << 20, maxSessions: 10 });
  try {
    const sent = [1, 2, 3, 4, 5].map((n) => event(`m${n}`));
    for (const p of sent) s.broadcast(p, to('a'));
    const offsets = sent.map((p) => p.data.at(-1) as string);
    assert.deepEqual(
      offsets.map((o) => parseInt(o, 36)),
      [1, 2, 3, 4, 5],
    );
    s.broadcast(event('for b'), to('b'));
    s.broadcast(event('for everyone'), to());
    s.broadcast(event('not for a'), { rooms: new Set<string>(), except: new Set(['a']) });
    const withAck = { type: 2, id: 7, data: ['feed', 'acked'] };
    s.broadcast(withAck, to('a'));
    assert.equal(withAck.data.length, 2, 'an event with an ack is neither stamped nor kept');
    s.broadcast(event('volatile'), { ...to('a'), flags: { volatile: true } });
    assert.equal(s.keeping().packets, 8);

    s.persistSession({ sid: 'a', pid: 'pid-a', rooms: ['a'], data: { x: 1 } });
    const restored = await s.restoreSession('pid-a', offsets[2]!);
    assert.ok(restored);
    assert.equal(restored.sid, 'a');
    assert.deepEqual(
      restored.missedPackets.map((d) => d[1]),
      ['m4', 'm5', 'for everyone'],
      'after the offset: its own room and broadcasts to all, not other rooms or where it is excepted',
    );
    assert.equal(await s.restoreSession('pid-a', offsets[2]!), null, 'a session is restored once');
  } finally {
    s.close();
  }
});

test('bogus, unknown and too-old pids and offsets restore nothing', async () => {
  const s = store({ windowMs: 60_000, maxBytes: 3000, maxSessions: 10 });
  try {
    const sent = Array.from({ length: 40 }, (_, i) => event('x'.repeat(100), i));
    for (const p of sent) s.broadcast(p, to('a'));
    const oldest = sent[0]!.data.at(-1) as string;
    const newest = sent.at(-1)!.data.at(-1) as string;
    const bogus = ['', '-1', '0', 'ZZ', 'zzzzzzzzzzzz', '1e3', ' 1', (parseInt(newest, 36) + 1).toString(36), oldest];
    for (const offset of bogus) {
      s.persistSession({ sid: 'a', pid: 'p', rooms: ['a'], data: {} });
      assert.equal(await s.restoreSession('p', offset), null, `offset ${JSON.stringify(offset)}`);
    }
    s.persistSession({ sid: 'a', pid: 'p', rooms: ['a'], data: {} });
    assert.equal(await s.restoreSession('nope', newest), null, 'unknown pid');
    assert.equal(await s.restoreSession('x'.repeat(10_000), newest), null, 'a huge pid');
    assert.ok(await s.restoreSession('p', newest), 'the newest offset restores (nothing missed)');
  } finally {
    s.close();
  }
});

test('what is kept stays within the byte bound, the session bound and the window', async () => {
  const s = store({ windowMs: 300, maxBytes: 10_000, maxSessions: 3 });
  try {
    for (let i = 0; i < 2000; i++) s.broadcast(event('y'.repeat(100)), to(`sid${i % 50}`));
    const kept = s.keeping();
    assert.ok(kept.bytes <= 10_000 && kept.packets > 0 && kept.packets < 40, JSON.stringify(kept));
    for (let i = 0; i < 100; i++) s.persistSession({ sid: `sid${i}`, pid: `pid${i}`, rooms: [`sid${i}`], data: {} });
    assert.equal(s.keeping().sessions, 3, 'the oldest sessions went first');
    assert.equal(await s.restoreSession('pid0', '1'), null);
    await new Promise((r) => setTimeout(r, 1500)); // past the window, with the sweeper's period
    assert.deepEqual(s.keeping(), { packets: 0, bytes: 0, sessions: 0, rooms: 0 }, 'everything expired, rooms too');
  } finally {
    s.close();
  }
});

test('a packet to several rooms of a session is restored once, in the order sent with those to all', async () => {
  const s = store({ windowMs: 60_000, maxBytes: 1 << 20, maxSessions: 10 });
  try {
    const first = event('before');
    s.broadcast(first, to('a'));
    s.broadcast(event('to a'), to('a'));
    s.broadcast(event('to all'), to());
    s.broadcast(event('to a and b'), to('a', 'b'));
    s.broadcast(event('to c'), to('c'));
    s.broadcast(event('to b'), to('b'));
    s.persistSession({ sid: 'a', pid: 'p', rooms: ['a', 'b'], data: {} });
    const restored = await s.restoreSession('p', first.data.at(-1) as string);
    assert.deepEqual(
      restored?.missedPackets.map((d) => d[1]),
      ['to a', 'to all', 'to a and b', 'to b'],
    );
  } finally {
    s.close();
  }
});

test('a storm of 10,000 restores reads only the packets of each session, not everything sent since', async () => {
  // 10 messages to each of 10,000 sockets, all cut, all back: scanning every packet after each
  // offset was 50 million steps (4.4 s on the 2-core machine), the index about 0.1 s
  const N = 10_000;
  const s = store({ windowMs: 60_000, maxBytes: 1 << 30, maxSessions: 2 * N });
  try {
    const offsets: string[] = [];
    for (let round = 0; round < 10; round++)
      for (let i = 0; i < N; i++) {
        const p = event('x'.repeat(64), round);
        s.broadcast(p, to(`sid${i}`));
        if (round === 8) offsets[i] = p.data.at(-1) as string; // each missed its last message
      }
    for (let i = 0; i < N; i++) s.persistSession({ sid: `sid${i}`, pid: `pid${i}`, rooms: [`sid${i}`], data: {} });
    const started = performance.now();
    let missed = 0;
    for (let i = 0; i < N; i++) missed += (await s.restoreSession(`pid${i}`, offsets[i]!))?.missedPackets.length ?? 0;
    const ms = performance.now() - started;
    assert.equal(missed, N, 'one missed message each');
    assert.ok(ms < 2000, `${N} restores took ${Math.round(ms)} ms`);
  } finally {
    s.close();
  }
});
