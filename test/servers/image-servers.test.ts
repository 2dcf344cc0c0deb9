// The image servers, driven by real clients (ws, @grpc/grpc-js) against the real server process:
// good images are acknowledged with what the server saw; every bad input gets its specific
// error (WS close code / gRPC status, with a reason) and the server keeps serving.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { suiteServers, dist, root, startServers, type Servers } from '../helpers.ts';

const IMAGE = readFileSync(join(dist, 'assets', 'image-533k.png'));
const DIGEST = createHash('sha256').update(IMAGE).digest('hex');
const MAX = 400_000; // below the image size, so the image itself is "oversized" for the small server

interface Ack {
  id: number;
  bytes: number;
  sha256: string;
  match: boolean;
  serverRecvMs: number;
}
interface Closed {
  code: number;
  reason: string;
}

/** Opens a socket, sends `frames`, collects acks until it closes or `acks` arrived. */
function wsExchange(
  url: string,
  frames: Array<string | Buffer>,
  acks: number,
): Promise<{ acks: Ack[]; closed?: Closed }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const got: Ack[] = [];
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('no answer within 5 s'));
    }, 5000);
    ws.on('open', () => {
      for (const f of frames) ws.send(f);
    });
    ws.on('message', (data) => {
      got.push(JSON.parse(String(data)) as Ack);
      if (got.length === acks) {
        clearTimeout(timer);
        ws.close(1000);
        resolve({ acks: got });
      }
    });
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ acks: got, closed: { code, reason: String(reason) } });
    });
    ws.on('error', () => {}); // the close event carries what we assert on
  });
}

const claim = (id: number, over: Record<string, unknown> = {}) =>
  JSON.stringify({ id, size: IMAGE.length, sha256: DIGEST, ...over });

describe('WebSocket /image', () => {
  const suite = suiteServers({ servers: [], small: ['--max-message-bytes', String(MAX)] });

  const goodImageStillWorks = async (s: Servers) => {
    const tiny = Buffer.from('ok!!');
    const { acks } = await wsExchange(
      s.wsUrl('/image'),
      [claim(9, { size: 4, sha256: createHash('sha256').update(tiny).digest('hex') }), tiny],
      1,
    );
    assert.equal(acks[0]?.match, true, 'server keeps serving after bad input');
  };

  test('acknowledges pipelined images with the size and digest it saw, in order', async () => {
    const frames = [1, 2, 3].flatMap((id) => [claim(id), IMAGE]);
    const { acks } = await wsExchange(suite.servers.wsUrl('/image'), frames, 3);
    assert.deepEqual(
      acks.map((a) => a.id),
      [1, 2, 3],
    );
    for (const a of acks) {
      assert.equal(a.match, true);
      assert.equal(a.bytes, IMAGE.length);
      assert.equal(a.sha256, DIGEST);
      assert.ok(Math.abs(a.serverRecvMs - Date.now()) < 10_000, 'server receive time is a wall-clock ms timestamp');
    }
  });

  test('a wrong digest is acknowledged as a mismatch with the real digest', async () => {
    const { acks } = await wsExchange(suite.servers.wsUrl('/image'), [claim(1, { sha256: 'a'.repeat(64) }), IMAGE], 1);
    assert.equal(acks[0]!.match, false);
    assert.equal(acks[0]!.sha256, DIGEST);
    const truncated = await wsExchange(suite.servers.wsUrl('/image'), [claim(2), IMAGE.subarray(0, 1000)], 1);
    assert.equal(truncated.acks[0]!.match, false);
    assert.equal(truncated.acks[0]!.bytes, 1000);
  });

  const malformed: Array<[string, Array<string | Buffer>, RegExp]> = [
    ['a binary frame without a claim', [IMAGE.subarray(0, 10)], /without a claim/],
    ['a claim that is not JSON', ['{"id": 1,'], /not valid JSON/],
    ['a claim with a bad sha256', [claim(1, { sha256: 'xyz' })], /sha256 must be 64/],
    ['a claim with a negative size', [claim(1, { size: -1 })], /size must be/],
    ['a claim followed by another claim', [claim(1), claim(2)], /not followed by its binary frame/],
  ];
  for (const [what, frames, reason] of malformed) {
    test(`${what} → close 1007 with a reason`, async () => {
      const { closed } = await wsExchange(suite.servers.wsUrl('/image'), frames, 1);
      assert.equal(closed?.code, 1007);
      assert.match(closed!.reason, reason);
      await goodImageStillWorks(suite.servers);
    });
  }

  test('an image over the maximum message size → close 1009', async () => {
    const { closed } = await wsExchange(suite.small.wsUrl('/image'), [claim(1), IMAGE], 1);
    assert.equal(closed?.code, 1009);
    await goodImageStillWorks(suite.small);
  });

  test('a claimed size over the maximum → close 1009 naming the sizes', async () => {
    const { closed } = await wsExchange(suite.small.wsUrl('/image'), [claim(1, { size: MAX + 1 })], 1);
    assert.equal(closed?.code, 1009);
    assert.match(closed!.reason, new RegExp(`${MAX + 1}.*${MAX}`));
    await goodImageStillWorks(suite.small);
  });

  test('unknown paths get 404, a plain GET on a WebSocket path 426', async () => {
    const res = await fetch(`${suite.servers.httpUrl}/nope`);
    assert.equal(res.status, 404);
    assert.match(((await res.json()) as { error: string }).error, /\/nope/);
    assert.equal((await fetch(`${suite.servers.httpUrl}/image`)).status, 426);
    const err = await new Promise<Error>((resolve) => new WebSocket(suite.servers.wsUrl('/nope')).on('error', resolve));
    assert.match(err.message, /404/);
  });
});

describe('gRPC ImageService/Upload', () => {
  let Upload: grpc.ServiceClientConstructor;
  const suite = suiteServers(
    { servers: [], small: ['--max-message-bytes', String(MAX)] },
    {
      setup: () => {
        const def = protoLoader.loadSync('image.proto', {
          includeDirs: [join(root, 'proto')],
          longs: Number,
          defaults: true,
        });
        Upload = (grpc.loadPackageDefinition(def) as any).rtbench.image.v1.ImageService;
      },
    },
  );

  const upload = (addr: string, req: Record<string, unknown>) =>
    new Promise<{ err: grpc.ServiceError | null; ack?: Ack }>((resolve) => {
      const client = new Upload(addr, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 16 << 20 });
      client.Upload(req, (err: grpc.ServiceError | null, ack: Ack) => {
        client.close();
        resolve({ err, ack });
      });
    });
  /** Sends raw bytes as the request message, bypassing protobuf encoding. */
  const uploadRaw = (addr: string, bytes: Buffer) =>
    new Promise<grpc.ServiceError | null>((resolve) => {
      const client = new grpc.Client(addr, grpc.credentials.createInsecure());
      client.makeUnaryRequest(
        '/rtbench.image.v1.ImageService/Upload',
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        (err) => {
          client.close();
          resolve(err);
        },
      );
    });
  const good = { id: 1, data: IMAGE, size: IMAGE.length, sha256: DIGEST };
  const goodStillWorks = async (addr: string) => {
    const { err, ack } = await upload(addr, {
      id: 7,
      data: Buffer.from('ok'),
      size: 2,
      sha256: createHash('sha256').update('ok').digest('hex'),
    });
    assert.equal(err, null);
    assert.equal(ack?.match, true, 'server keeps serving after bad input');
  };

  test('acknowledges an image with the size and digest it saw', async () => {
    const { err, ack } = await upload(suite.servers.grpcAddr, good);
    assert.equal(err, null);
    assert.deepEqual(
      { id: ack!.id, bytes: ack!.bytes, sha256: ack!.sha256, match: ack!.match },
      { id: 1, bytes: IMAGE.length, sha256: DIGEST, match: true },
    );
  });

  test('a wrong digest is acknowledged as a mismatch with the real digest', async () => {
    const { err, ack } = await upload(suite.servers.grpcAddr, { ...good, sha256: 'b'.repeat(64) });
    assert.equal(err, null);
    assert.equal(ack!.match, false);
    assert.equal(ack!.sha256, DIGEST);
  });

  test('bytes that are not protobuf → INVALID_ARGUMENT naming the message type', async () => {
    // field 2 (data) claims 5 bytes but the message ends after 1: truncated protobuf
    const err = await uploadRaw(suite.servers.grpcAddr, Buffer.from([0x12, 0x05, 0x01]));
    assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(err!.details, /ImageRequest is not valid protobuf/);
    await goodStillWorks(suite.servers.grpcAddr);
  });

  test('a malformed claim → INVALID_ARGUMENT with the reason', async () => {
    const { err } = await upload(suite.servers.grpcAddr, { ...good, sha256: 'not-hex' });
    assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(err!.details, /sha256 must be 64/);
    await goodStillWorks(suite.servers.grpcAddr);
  });

  test('an image over the maximum message size → RESOURCE_EXHAUSTED', async () => {
    const { err } = await upload(suite.small.grpcAddr, good);
    assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED);
    await goodStillWorks(suite.small.grpcAddr);
  });
});

describe('server process', () => {
  test('SIGTERM closes WebSockets with 1001 and exits 0', async () => {
    const servers = await startServers();
    try {
      const ws = new WebSocket(servers.wsUrl('/image'));
      await new Promise((r) => ws.on('open', r));
      const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
      const exit = servers.stop();
      assert.equal(await closed, 1001);
      assert.equal(await exit, 0);
      assert.match(servers.output(), /SIGTERM: shutting down/);
    } finally {
      await servers.stop(); // already stopped unless an assertion above failed
    }
  });

  test('a bad setting stops it with exit 2 and names the setting and value', async () => {
    for (const [args, pattern] of [
      [['--max-message-bytes', '12kb'], /--max-message-bytes: '12kb'/],
      [['--only', 'ws,mqtt'], /--only: unknown server 'mqtt'/],
      [['--http-prt', '1'], /unknown option '--http-prt'/],
    ] as const) {
      await assert.rejects(startServers([...args]), (err: Error) => {
        assert.match(err.message, /exited with code 2/);
        assert.match(err.message, pattern);
        return true;
      });
    }
  });

  test('--help prints usage', async () => {
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync(process.execPath, [join(dist, 'servers', 'main.js'), '--help'], { encoding: 'utf8' });
    assert.match(out, /--max-message-bytes/);
    assert.match(out, /MAX_MESSAGE_BYTES/);
  });
});
