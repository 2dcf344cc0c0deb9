// The feed's message reader (contracts/feed.ts readFeedMessage): what the servers write is read by
// position, and must come out exactly as JSON.parse reads it; anything else goes to JSON.parse.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFeedMessage } from '../../contracts/feed.ts';
import { Channel, DEFAULT_FEED_LIMITS, type Subscriber } from '../../servers/lib/feed.ts';

/** What a server channel of `bytes` payload sends, as the servers serialise it. */
function served(name: string, bytes: number, count: number): string[] {
  const sent: string[] = [];
  const channel = new Channel({ name, rate: 0, bytes }, DEFAULT_FEED_LIMITS, () => 1 << 20);
  const sub: Subscriber = {
    deliver: (msg) => (sent.push(msg.json), true),
    reset: () => {},
    drop: () => {},
    close: () => {},
  };
  channel.subscribe(sub);
  for (let i = 0; i < count; i++) channel.publishNow();
  channel.close();
  return sent;
}

describe('readFeedMessage', () => {
  test('reads what the servers send exactly as JSON.parse does', () => {
    for (const [name, bytes] of [
      ['hold-r1-b64-42', 64],
      ['a', 0],
      ['feed.x_Y-9', 4096],
    ] as const) {
      const bodies = served(name, bytes, 3);
      assert.equal(bodies.length, 3);
      for (const body of bodies) assert.deepEqual(readFeedMessage(body), JSON.parse(body));
    }
  });

  test('anything else is read by JSON.parse, so it comes out the same or throws the same', () => {
    for (const body of [
      '{"t":1.5,"seq":2,"ch":"c","p":"xx"}', // other key order
      '{"seq":2,"t":1.5,"ch":"c","p":"x\\"y"}', // an escaped quote in the payload
      '{"seq":2,"t":1.5,"ch":"c","p":"x\\\\"}', // an escaped backslash
      '{"seq": 2, "t": 1.5, "ch": "c", "p": "xx"}', // spaces
      '{"op":"subscribed","channel":"c"}', // a control message
      '{"requested":3,"oldest":9}',
      '{"seq":1e3,"t":-0.25,"ch":"c","p":""}',
    ])
      assert.deepEqual(readFeedMessage(body), JSON.parse(body), body);
    for (const body of ['{"seq":,"t":1,"ch":"c","p":""}', '{"seq":1,"t":,"ch":"c","p":""}', '{"seq":x', ''])
      assert.throws(() => readFeedMessage(body), SyntaxError, body);
  });
});
