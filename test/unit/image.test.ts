// The test image: a real PNG that decodes, ~533 KB as the image workload's, identical on every machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePng, makeTestImage, IMAGE_WIDTH, IMAGE_HEIGHT } from '../../tools/png.mjs';
import { dist } from '../helpers.ts';

const PINNED_SHA256 = '69228d25c7d66f261ab1ceeea551492e8ce725d76d9c646a60be585e761e9903';

test('the built image is the deterministic PNG', () => {
  const built = readFileSync(join(dist, 'assets', 'image-533k.png'));
  assert.equal(createHash('sha256').update(built).digest('hex'), PINNED_SHA256);
  assert.ok(makeTestImage().equals(built), 'regenerating gives the same bytes');
});

test('it decodes: signature, chunk CRCs, IHDR, and pixel data of the right size', () => {
  const png = makeTestImage();
  const { width, height, pixels } = decodePng(png);
  assert.equal(width, IMAGE_WIDTH);
  assert.equal(height, IMAGE_HEIGHT);
  assert.equal(pixels.length, height * (1 + width * 3));
  assert.ok(png.length > 530 * 1024 && png.length < 536 * 1024, `size ${png.length} is about 533 KB`);
});

test('the decoder rejects a corrupted PNG', () => {
  const png = Buffer.from(makeTestImage());
  png[100] ^= 0xff; // inside IDAT: its CRC no longer matches
  assert.throws(() => decodePng(png), /bad CRC in IDAT/);
  assert.throws(() => decodePng(Buffer.from('GIF89a')), /bad signature/);
});
