// The generator-cost monitor's arithmetic: two snapshots of k6/x/measure's generator() → what k6
// spent in the interval between them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Generator } from 'k6/x/measure';
import { generatorInterval } from '../../scripts/lib/monitor/generator-interval.ts';

const snap = (over: Partial<Generator> = {}): Generator => ({
  atMs: 1_000,
  cpuUserMs: 100,
  cpuSystemMs: 20,
  rssBytes: 5e7,
  gcPauseMs: 3,
  gcCount: 2,
  cores: 2,
  host: { busyMs: 10_000, idleMs: 30_000, cores: 2 },
  loopLag: { maxMs: 0, meanMs: 0, count: 0 },
  timerLag: { maxMs: 0, meanMs: 0, count: 0 },
  ...over,
});

test('CPU ms and % of one core, GC pause and the machine idle CPU (% of one core: 25% of 2 cores = 50) over the interval', () => {
  const later = snap({
    atMs: 2_000,
    cpuUserMs: 700,
    cpuSystemMs: 170,
    gcPauseMs: 5.5,
    host: { busyMs: 11_500, idleMs: 30_500, cores: 2 },
  });
  assert.deepEqual(generatorInterval(snap(), later), {
    cpuMs: 750,
    cpuPercent: 75,
    gcPauseMs: 2.5,
    hostIdlePercent: 50,
  });
});

test('k6 can use more than one core: CPU % is of one core, so 2 busy cores read 200', () => {
  const later = snap({ atMs: 1_500, cpuUserMs: 1_000, cpuSystemMs: 120 });
  assert.equal(generatorInterval(snap(), later)?.cpuPercent, 200);
});

test('no /proc/stat, or no tick in the interval: the idle share is unknown, not 0', () => {
  assert.equal(generatorInterval(snap({ host: null }), snap({ atMs: 2_000, host: null }))?.hostIdlePercent, null);
  assert.equal(generatorInterval(snap(), snap({ atMs: 1_005 }))?.hostIdlePercent, null);
});

test('snapshots that do not follow on (time or CPU going back) give no interval', () => {
  assert.equal(generatorInterval(snap(), snap()), null);
  assert.equal(generatorInterval(snap({ atMs: 2_000 }), snap()), null);
  assert.equal(generatorInterval(snap(), snap({ atMs: 2_000, cpuUserMs: 50 })), null);
});
