// --channel-idle-ms: a feed channel nobody subscribes to is removed after it (the capacity harness
// raises it so channels declared before a long ramp are still there when their connection opens),
// while a channel with a subscriber stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteServers } from '../helpers.ts';

const suite = suiteServers({ servers: ['--channel-idle-ms', '1000'] });

test(
  '--channel-idle-ms removes a channel nobody subscribed to, not one with a subscriber',
  { timeout: 20_000 },
  async () => {
    const url = suite.servers.httpUrl;
    const post = (path: string, body?: unknown) =>
      fetch(`${url}${path}`, {
        method: 'POST',
        body: JSON.stringify(body ?? {}),
        headers: { 'content-type': 'application/json' },
      });
    /** 201 when the channel was created, 200 when it already existed. */
    const declare = async (name: string) => (await post('/feed/channels', { name, rate: 1, bytes: 8 })).status;
    assert.equal(await declare('idle-ch'), 201);
    assert.equal(await declare('held-ch'), 201);
    const held = new AbortController();
    const stream = await fetch(`${url}/sse?channel=held-ch`, { signal: held.signal });
    assert.equal(stream.status, 200);
    try {
      // idle for 1 s, swept every second: gone within 2 s (a probe would touch it: wait instead)
      await new Promise((r) => setTimeout(r, 3500));
      const res = await post('/feed/drop?channel=idle-ch');
      assert.equal(res.status, 404);
      const gone = await res.text();
      assert.match(gone, /unknown channel 'idle-ch'/);
      assert.equal(await declare('held-ch'), 200, 'the channel with a subscriber was removed too');
    } finally {
      held.abort();
    }
  },
);
