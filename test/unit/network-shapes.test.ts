// Network shapes as data (tools/network.mjs): the built-in shapes, custom ones from the config
// file, the toxics each turns into, and errors that name the bad shape or key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHAPES, knownShapes, parseShapeList, resolveShape, rttMs, toxicsFor } from '../../tools/network.mjs';

const config = (json: unknown) => {
  const path = join(mkdtempSync(join(tmpdir(), 'rtbench-net-')), 'rtbench.config.json');
  writeFileSync(path, JSON.stringify(json));
  return path;
};

test('built-in shapes: loopback is direct; wan is 40 ms RTT with jitter at 100 Mbit/s; the mobile ones follow WebPageTest', () => {
  assert.equal(SHAPES.loopback!.direct, true);
  assert.equal(rttMs(SHAPES.wan!), 40);
  assert.deepEqual(toxicsFor(SHAPES.wan!), [
    { name: 'latency_up', type: 'latency', stream: 'upstream', toxicity: 1, attributes: { latency: 20, jitter: 5 } },
    { name: 'bandwidth_up', type: 'bandwidth', stream: 'upstream', toxicity: 1, attributes: { rate: 12_500 } },
    {
      name: 'latency_down',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 20, jitter: 5 },
    },
    { name: 'bandwidth_down', type: 'bandwidth', stream: 'downstream', toxicity: 1, attributes: { rate: 12_500 } },
  ]);
  assert.equal(rttMs(SHAPES['mobile-3g']!), 300);
  assert.equal(SHAPES['mobile-3g']!.down!.kbps, 1600);
  assert.equal(SHAPES['mobile-3g']!.up!.kbps, 768);
  assert.equal(rttMs(SHAPES['mobile-lte']!), 70);
  assert.deepEqual(toxicsFor(SHAPES.loopback!), []);
});

test('an unknown shape is an error naming it and the known ones', () => {
  assert.throws(
    () => resolveShape('wam', SHAPES),
    /unknown network shape 'wam' \(known: loopback, lan, wan, mobile-lte, mobile-3g/,
  );
  assert.throws(() => parseShapeList('lan,wam', SHAPES), /'wam'/);
  assert.throws(() => parseShapeList(' , ', SHAPES), /names no shape/);
  assert.deepEqual(parseShapeList('lan, wan', SHAPES), ['lan', 'wan']);
});

test('custom shapes come from "networks" in the config file', () => {
  const path = config({
    scenarios: {},
    networks: {
      sat: {
        description: 'GEO',
        up: { latencyMs: 300, kbps: 2000 },
        down: { latencyMs: 300, jitterMs: 20, kbps: 20000 },
      },
    },
  });
  const shapes = knownShapes(path);
  assert.equal(rttMs(resolveShape('sat', shapes)), 600);
  assert.deepEqual(
    toxicsFor(shapes.sat!).map((t) => [t.name, t.attributes]),
    [
      ['latency_up', { latency: 300, jitter: 0 }],
      ['bandwidth_up', { rate: 250 }],
      ['latency_down', { latency: 300, jitter: 20 }],
      ['bandwidth_down', { rate: 2500 }],
    ],
  );
  assert.ok(shapes.wan, 'built-ins stay');
});

test('a bad custom shape names the file, the shape and the key', () => {
  assert.throws(
    () => knownShapes(config({ networks: { sat: { up: { latencyMs: -1 } } } })),
    /networks\.sat\.up\.latencyMs: -1 is not a whole number/,
  );
  assert.throws(
    () => knownShapes(config({ networks: { sat: { up: { latency: 5 } } } })),
    /networks\.sat\.up: unknown key 'latency'/,
  );
  assert.throws(
    () => knownShapes(config({ networks: { sat: { up: { latencyMs: 5, jitterMs: 9 } } } })),
    /jitterMs \(9\) may not exceed latencyMs \(5\)/,
  );
  assert.throws(
    () => knownShapes(config({ networks: { sat: { description: 'x' } } })),
    /networks\.sat: needs "up" and\/or "down"/,
  );
  assert.throws(
    () => knownShapes(config({ networks: { wan: { up: { latencyMs: 5 } } } })),
    /'wan' is a built-in shape/,
  );
  assert.throws(() => knownShapes(config({ networks: { 'Bad Name': { up: { latencyMs: 5 } } } })), /a shape name is/);
  assert.throws(() => knownShapes('/nonexistent/rtbench.config.json'), /cannot read config file/);
});
