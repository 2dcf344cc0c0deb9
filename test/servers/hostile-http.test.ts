// Hostile input over plain HTTP against the real server process: the feed's control routes,
// malformed HTTP on the wire, and the SSE stream. Every input gets its specific status; after
// each batch the process is alive, /healthz and one good request per protocol succeed, and RSS
// stays under the bound.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServers, type Servers } from '../helpers.ts';
import { assertHealthy, portOf, rawTcp, stats } from './hostile-lib.ts';

const RSS_MIB = 400;
let s: Servers;
before(async () => {
  s = await startServers([
    '--handshake-ms',
    '1500',
    '--request-timeout-ms',
    '3000',
    '--channel-bytes-per-sec',
    String(4 * 1048576),
  ]);
});
after(async () => {
  assert.equal(await s.stop(), 0, 'exit 0 on SIGTERM');
});

const json = { 'content-type': 'application/json' };
const post = (path: string, body: string | undefined, headers: Record<string, string> = json) =>
  fetch(`${s.httpUrl}${path}`, { method: 'POST', body, headers });

describe('control routes', () => {
  test('bad channel declarations, methods, content types and queries: each its own status', async () => {
    await post('/feed/channels', JSON.stringify({ name: 'exists', rate: 1, bytes: 1 }));
    const bodies: Array<[string, number]> = [
      ['', 400],
      ['{', 400],
      ['{oops}', 400],
      ['null', 400],
      ['[]', 400],
      ['1', 400],
      ['"x"', 400],
      ['true', 400],
      ['{}', 400],
      [JSON.stringify({ name: '', rate: 1, bytes: 1 }), 400],
      [JSON.stringify({ name: 'a'.repeat(65), rate: 1, bytes: 1 }), 400],
      [JSON.stringify({ name: 'has space', rate: 1, bytes: 1 }), 400],
      [JSON.stringify({ name: '😀'.repeat(60), rate: 1, bytes: 1 }), 400],
      [JSON.stringify({ name: '../etc', rate: 1, bytes: 1 }), 400],
      [JSON.stringify({ name: 5, rate: 1, bytes: 1 }), 400],
      [JSON.stringify({ name: 'x', rate: -1, bytes: 1 }), 400],
      [JSON.stringify({ name: 'x', rate: 1.5, bytes: 1 }), 400],
      [JSON.stringify({ name: 'x', rate: '10', bytes: 1 }), 400],
      [JSON.stringify({ name: 'x', rate: 10001, bytes: 1 }), 400],
      [JSON.stringify({ name: 'x', rate: 1e308, bytes: 1 }), 400],
      [JSON.stringify({ name: 'x', rate: null, bytes: 1 }), 400],
      [JSON.stringify({ name: 'x', rate: 1, bytes: -1 }), 400],
      [JSON.stringify({ name: 'x', rate: 1, bytes: 1048577 }), 400],
      [JSON.stringify({ name: 'x', rate: 1, bytes: [] }), 400],
      ['{"name":"x","rate":1,"bytes":1e400}', 400],
      [JSON.stringify({ name: 'exists', rate: 2, bytes: 1 }), 409],
      [JSON.stringify({ name: 'exists', rate: 1, bytes: 2 }), 409],
      // over a channel's budget (rate × bytes): the heap-exhausting declarations
      [JSON.stringify({ name: 'huge1', rate: 200, bytes: 1048576 }), 413],
      [JSON.stringify({ name: 'huge2', rate: 10000, bytes: 1048576 }), 413],
      [JSON.stringify({ name: 'huge3', rate: 10000, bytes: 65536 }), 413],
      ['{"name":"big","rate":1,"bytes":1,"pad":"' + 'x'.repeat(70 * 1024) + '"}', 413],
    ];
    for (const [body, status] of bodies) {
      const res = await post('/feed/channels', body);
      assert.equal(res.status, status, `POST /feed/channels ${body.slice(0, 60)}`);
      assert.equal(typeof ((await res.json()) as { error: string }).error, 'string', 'the error names the problem');
    }
    const contentTypes = [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      'json',
      'text/json',
    ];
    for (const ct of contentTypes) {
      assert.equal(
        (await post('/feed/channels', '{"name":"ct","rate":1,"bytes":1}', { 'content-type': ct })).status,
        415,
        `Content-Type ${ct}`,
      );
      assert.equal(
        (await post('/feed/drop?channel=exists', '', { 'content-type': ct })).status,
        415,
        `drop with Content-Type ${ct}`,
      );
    }
    assert.equal((await post('/feed/publish?channel=exists', undefined, {})).status, 415, 'no Content-Type');
    const others: Array<[string, string, number]> = [
      ['PUT', '/feed/channels', 404],
      ['PATCH', '/feed/channels', 404],
      ['GET', '/feed/channels', 404],
      ['GET', '/feed/publish', 404],
      ['DELETE', '/feed/channels?name=ghost', 404],
      ['DELETE', '/feed/channels', 400],
      ['POST', '/feed/publish', 400],
      ['POST', '/feed/publish?channel=ghost', 404],
      ['POST', '/feed/drop?channel=', 400],
      ['POST', `/feed/drop?channel=${'z'.repeat(8000)}`, 404],
      ['POST', '/feed/publish?channel=%F0%9F%98%80', 404],
      ['POST', '/stats', 404],
      ['GET', '/nope', 404],
      ['GET', '/echo', 426],
      ['GET', '/feed', 426],
    ];
    for (const [method, path, status] of others) {
      const res = await fetch(`${s.httpUrl}${path}`, { method, headers: json });
      assert.equal(res.status, status, `${method} ${path.slice(0, 60)}`);
    }
    assert.ok(bodies.length + contentTypes.length * 2 + 1 + others.length >= 50, 'at least 50 distinct inputs');
    await assertHealthy(s, { rssMiB: RSS_MIB });
  });

  test('on-demand publishing is held to the channel budget (429)', async () => {
    await post('/feed/channels', JSON.stringify({ name: 'burst', rate: 0, bytes: 1048576 }));
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await post('/feed/publish?channel=burst', '')).status);
    assert.ok(statuses.includes(200), 'within budget: published');
    assert.ok(statuses.includes(429), `past 4 MiB in a burst: 429 (${statuses.join(',')})`);
    await assertHealthy(s, { rssMiB: RSS_MIB });
  });
});

describe('malformed HTTP on the wire', () => {
  test('each gets a specific 4xx answer, not a silent close', async () => {
    const port = portOf(s);
    const cases: Array<[string, string, number]> = [
      ['absolute target with a bad host', 'GET http://[zz]/ HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      [
        'upgrade with a bad target',
        'GET http://[zz]/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        400,
      ],
      [
        'Content-Length with Transfer-Encoding',
        'POST /feed/channels HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
      ],
      [
        'bad chunk size',
        'POST /feed/channels HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
        400,
      ],
      ['headers over the limit', `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
      [
        'many headers',
        `GET / HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 3000 }, (_, i) => `X-${i}: y\r\n`).join('')}\r\n`,
        431,
      ],
      ['bad method', 'G@T / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      ['bad version', 'GET / HTTP/9.9\r\nHost: x\r\n\r\n', 400],
      ['not HTTP', 'hello there\r\n\r\n', 400],
      ['header without a colon', 'GET / HTTP/1.1\r\nHost x\r\n\r\n', 400],
      ['NUL in a header', 'GET / HTTP/1.1\r\nHost: x\u0000y\r\n\r\n', 400],
      ['space before the colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', 400],
      [
        'two Content-Lengths',
        'POST /feed/channels HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
        400,
      ],
      ['negative Content-Length', 'POST /feed/channels HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400],
      [
        'Content-Length over the body limit',
        'POST /feed/channels HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\n\r\n{',
        413,
      ],
      ['bare LF line endings with obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n', 400],
      [
        'chunk extension bomb',
        `POST /feed/channels HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1;${'a'.repeat(20_000)}\r\nx\r\n`,
        413,
      ],
      [
        'chunked not last in Transfer-Encoding',
        'POST /feed/channels HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n',
        400,
      ],
      [
        'chunk shorter than its size',
        'POST /feed/channels HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc\r\n0\r\n\r\n',
        400,
      ],
      ['Content-Length not a number', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n', 400],
      ['lower-case protocol name', 'GET / http/1.1\r\nHost: x\r\n\r\n', 400],
      ['request line only garbage', '\u0001\u0002\u0003\r\n\r\n', 400],
      ['target without a slash', 'GET healthz HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      ['CONNECT to a host', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n', 405],
      [
        'bad Upgrade key',
        'GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n',
        400,
      ],
      [
        'unsupported WebSocket version',
        'GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 9\r\n\r\n',
        400,
      ],
      [
        'upgrade to an unknown path',
        'GET /nope HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        404,
      ],
      [
        'upgrade to an unknown protocol',
        'GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n',
        400,
      ],
    ];
    for (const [what, bytes, status] of cases) {
      const reply = await rawTcp(port, bytes);
      assert.equal(reply.status, status, `${what}: got ${JSON.stringify(reply.text.slice(0, 80))}`);
    }
    await assertHealthy(s, { rssMiB: RSS_MIB });
  });

  test('a request whose headers never finish gets 408 within the handshake time', async () => {
    const started = Date.now();
    const reply = await rawTcp(portOf(s), 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 8000);
    assert.equal(reply.status, 408);
    assert.ok(Date.now() - started < 6000, `answered after ${Date.now() - started} ms (handshake 1500 ms)`);
  });

  test('refusals are counted in /stats', async () => {
    const st = await stats(s);
    assert.ok(st.protocols.http!.errors >= 20, `http errors counted: ${st.protocols.http!.errors}`);
    assert.equal(st.limits.handshakeMs, 1500, 'the bounds in force are in /stats');
  });
});

describe('SSE /sse', () => {
  test('bad channels, resume points and retry values: each a 400/404 naming it; ahead of the channel → reset', async () => {
    await post('/feed/channels', JSON.stringify({ name: 'sse-h', rate: 0, bytes: 8 }));
    const queries: Array<[string, number]> = [
      ['', 400],
      ['?channel=', 400],
      ['?channel=ghost', 404],
      [`?channel=${'g'.repeat(5000)}`, 404],
      ['?channel=%00', 404],
      ['?channel=%F0%9F%98%80', 404],
      ['?channel=sse-h&lastEventId=abc', 400],
      ['?channel=sse-h&lastEventId=-1', 400],
      ['?channel=sse-h&lastEventId=1.5', 400],
      ['?channel=sse-h&lastEventId=1e3', 400],
      ['?channel=sse-h&lastEventId=%201', 400],
      ['?channel=sse-h&lastEventId=9999999999999999', 400],
      ['?channel=sse-h&lastEventId=NaN', 400],
      ['?channel=sse-h&lastEventId=0x10', 400],
      ['?channel=sse-h&lastEventId=Infinity', 400],
      ['?channel=sse-h&lastEventId=%E2%80%8B1', 400],
      ['?channel=sse-h&retry=soon', 400],
      ['?channel=sse-h&retry=-5', 400],
      ['?channel=sse-h&retry=1234567', 400],
      ['?channel=sse-h&retry=1.5', 400],
      ['?channel=sse-h&retry=', 400],
      ['?channel=sse-h&retry=%0A', 400],
      ['?channel=sse-h&retry=1%0Adata:%20x', 400],
      ['?channel=sse-h&retry=abc', 400],
      ['?channel=sse-h&retry=0x1', 400],
      ['?channel=sse-h&retry=1e2', 400],
      ['?channel=sse-h&retry=%20', 400],
      ['?channel=sse-h&retry=%2B1', 400],
      ['?channel=sse-h&lastEventId=%2B1', 400],
      ['?channel=sse-h&lastEventId=1_000', 400],
      ['?channel=sse-h&lastEventId=1%202', 400],
      ['?channel=sse-h&lastEventId=%EF%BC%91', 400],
    ];
    for (const [q, status] of queries) {
      const res = await fetch(`${s.httpUrl}/sse${q}`);
      assert.equal(res.status, status, `/sse${q.slice(0, 60)}`);
      await res.body?.cancel();
    }
    const headers = [
      'abc',
      '-1',
      '1.5',
      '1e3',
      ' ',
      'x1',
      '0x1',
      '\u00e91',
      '9999999999999999',
      '1,2',
      'null',
      '[1]',
      '+1',
      '0b1',
      '1.0',
      '-0',
      '1;2',
    ];
    for (const h of headers) {
      const res = await fetch(`${s.httpUrl}/sse?channel=sse-h`, { headers: { 'last-event-id': h } });
      assert.equal(res.status, h.trim() === '' ? 200 : 400, `Last-Event-ID ${JSON.stringify(h)}`);
      await res.body?.cancel();
    }
    const methods = ['POST', 'PUT', 'DELETE', 'PATCH'];
    for (const m of methods)
      assert.equal(
        (await fetch(`${s.httpUrl}/sse?channel=sse-h`, { method: m, headers: json })).status,
        404,
        `${m} /sse`,
      );
    // A resume point ahead of the channel: a reset, then live messages.
    const ctrl = new AbortController();
    const res = await fetch(`${s.httpUrl}/sse?channel=sse-h`, {
      headers: { 'last-event-id': '5000' },
      signal: ctrl.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!/event: reset/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    ctrl.abort();
    assert.match(text, /event: reset\ndata: \{"requested":5001,"oldest":1,"reason":"resume point 5000 is ahead/);
    assert.ok(queries.length + headers.length + methods.length + 1 >= 50, 'at least 50 distinct inputs');
    await assertHealthy(s, { rssMiB: RSS_MIB });
  });

  test('a foreign Origin is refused (403) on SSE, WebSocket and control routes; loopback origins pass', async () => {
    const evil = { origin: 'https://evil.example' };
    assert.equal((await fetch(`${s.httpUrl}/sse?channel=sse-h`, { headers: evil })).status, 403);
    assert.equal((await post('/feed/channels', '{"name":"o","rate":1,"bytes":1}', { ...json, ...evil })).status, 403);
    const up = await rawTcp(
      portOf(s),
      `GET /echo HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    assert.equal(up.status, 403);
    const ok = await fetch(`${s.httpUrl}/healthz`, { headers: { origin: 'http://localhost:3000' } });
    assert.equal(ok.status, 200);
  });
});
