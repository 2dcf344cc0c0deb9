// The k6 toolchain: the project's k6 is k6 v2, `npm run k6 -- …` runs it, and when nothing
// suitable is available the message says what to install or set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { k6Bin, root } from '../helpers.ts';

const tool = (args: string[], env: NodeJS.ProcessEnv) =>
  spawnSync(process.execPath, [join(root, 'tools', 'k6.mjs'), ...args], { encoding: 'utf8', env });

test('the project k6 is v2 and `k6.mjs run-k6` passes arguments through', async () => {
  await k6Bin();
  const res = tool(['run-k6', 'version'], process.env);
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /^k6 v2\.\d+\.\d+/);
});

test('K6_BIN pointing at an unsuitable k6 is refused with the reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtbench-fake-k6-'));
  const fake = join(dir, 'k6');
  writeFileSync(fake, '#!/bin/sh\necho "k6 v1.4.0 (go1.24.0, linux/amd64)"\n');
  chmodSync(fake, 0o755);
  const res = tool(['path'], { ...process.env, K6_BIN: fake });
  assert.equal(res.status, 1);
  assert.match(res.stderr, /K6_BIN=.*cannot be used: it reports 'k6 v1\.4\.0.*needs k6 v2/);
});

test('with neither Go nor a suitable k6, it says what to install', () => {
  const bin = mkdtempSync(join(tmpdir(), 'rtbench-path-'));
  symlinkSync(process.execPath, join(bin, 'node'));
  const res = tool(['path'], {
    PATH: bin,
    HOME: bin,
    RTBENCH_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rtbench-cache-')),
  });
  assert.equal(res.status, 1);
  assert.match(res.stderr, /needs k6 v2/);
  assert.match(res.stderr, /install Go 1\.25 or newer/);
  assert.match(res.stderr, /K6_BIN/);
});

test('unknown commands print usage', () => {
  const res = tool(['frobnicate'], process.env);
  assert.equal(res.status, 2);
  assert.match(res.stderr, /usage: node tools\/k6\.mjs/);
});
