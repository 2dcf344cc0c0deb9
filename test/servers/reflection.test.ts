// A gRPC client that is not from this repo (grpcurl, pinned in tools/go.mod and built from the
// Go module proxy) lists, describes and calls our services through server reflection alone.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { goTool } from '../../tools/k6.mjs';
import { suiteServers } from '../helpers.ts';

const run = promisify(execFile);
const suite = suiteServers({ servers: ['--only', 'grpc'] });
let grpcurl: string;
before(async () => {
  grpcurl = await goTool('github.com/fullstorydev/grpcurl/cmd/grpcurl');
});

test('grpcurl lists and describes the services without our proto files', async () => {
  const { stdout: list } = await run(grpcurl, ['-plaintext', suite.servers.grpcAddr, 'list']);
  assert.match(list, /^rtbench\.image\.v1\.ImageService$/m);
  const { stdout: desc } = await run(grpcurl, [
    '-plaintext',
    suite.servers.grpcAddr,
    'describe',
    'rtbench.image.v1.ImageService.Upload',
  ]);
  assert.match(
    desc,
    /rpc Upload \( \.rtbench\.image\.v1\.ImageRequest \) returns \( \.rtbench\.image\.v1\.ImageAck \)/,
  );
});

test('grpcurl calls Upload through reflection and gets the digest ack', async () => {
  const data = Buffer.from('hello, reflection');
  const sha256 = createHash('sha256').update(data).digest('hex');
  const body = JSON.stringify({ id: 3, data: data.toString('base64'), size: data.length, sha256 });
  const { stdout } = await run(grpcurl, [
    '-plaintext',
    '-d',
    body,
    suite.servers.grpcAddr,
    'rtbench.image.v1.ImageService/Upload',
  ]);
  const ack = JSON.parse(stdout) as { id: number; bytes: string; sha256: string; match: boolean };
  assert.equal(ack.id, 3);
  assert.equal(ack.bytes, String(data.length));
  assert.equal(ack.sha256, sha256);
  assert.equal(ack.match, true);
});

test('grpcurl gets INVALID_ARGUMENT for a malformed claim', async () => {
  const body = JSON.stringify({ id: 1, data: 'aGk=', size: 2, sha256: 'zz' });
  await assert.rejects(
    run(grpcurl, ['-plaintext', '-d', body, suite.servers.grpcAddr, 'rtbench.image.v1.ImageService/Upload']),
    (err: { stderr: string }) => {
      assert.match(err.stderr, /Code: InvalidArgument/);
      assert.match(err.stderr, /sha256 must be 64/);
      return true;
    },
  );
});
