// The generator-saturation verdict from a run's summary (tools/lib/saturation.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { saturation } from '../../tools/lib/saturation.mjs';

/** A summary export with the generator metrics the monitor records. */
const summary = ({
  cpu,
  cores = 2,
  idle,
  lag,
  timerLag,
}: {
  cpu: number;
  cores?: number;
  idle?: number;
  lag?: number;
  timerLag?: number;
}) => ({
  metrics: {
    rtb_generator_cpu_percent: { med: cpu, max: cpu },
    rtb_generator_cores: { value: cores, min: cores, max: cores },
    ...(idle === undefined ? {} : { rtb_generator_host_idle_percent: { med: idle } }),
    ...(lag === undefined ? {} : { rtb_generator_loop_lag: { med: lag, max: lag } }),
    ...(timerLag === undefined ? {} : { rtb_generator_timer_lag: { med: timerLag, max: timerLag } }),
  },
});

test('k6 at its ceiling (every core it may use) is generator-bound', () => {
  const v = saturation(summary({ cpu: 190, idle: 5 }));
  assert.equal(v?.bound, true);
  assert.equal(v?.availablePercent, 195);
  assert.match(v!.reasons[0]!, /k6 CPU 190% of the 195% it could get \(ceiling 200%\)/);
});

test('k6 taking all the machine left it (the server has the rest) is generator-bound', () => {
  assert.equal(saturation(summary({ cpu: 100, idle: 4 }))?.bound, true);
});

test('k6 busy but the machine has idle cores is not', () => {
  const v = saturation(summary({ cpu: 100, idle: 80 }));
  assert.equal(v?.bound, false);
  assert.deepEqual(v?.reasons, []);
});

test('a light run is not flagged, even on a machine others keep busy', () => {
  assert.equal(saturation(summary({ cpu: 5, idle: 0, lag: 1 }))?.bound, false);
  assert.equal(saturation(summary({ cpu: 49, idle: 0 }))?.bound, false);
});

test('without the machine idle figure, the ceiling is all k6 could get', () => {
  assert.equal(saturation(summary({ cpu: 150 }))?.bound, false);
  assert.equal(saturation(summary({ cpu: 180 }))?.bound, true);
  assert.equal(saturation(summary({ cpu: 90, cores: 1 }))?.bound, true);
});

test('a late VU event loop flags the run whatever the CPU', () => {
  const v = saturation(summary({ cpu: 20, idle: 150, lag: 120 }));
  assert.equal(v?.bound, true);
  assert.match(v!.reasons[0]!, /VU event loop 120 ms late, 120 ms more than a plain timer/);
  assert.equal(saturation(summary({ cpu: 20, idle: 150, lag: 49 }))?.bound, false);
});

test("lag every timer in k6 has (a machine short of CPU) is not the loop's own: only the excess counts", () => {
  assert.equal(saturation(summary({ cpu: 2, idle: 0, lag: 70, timerLag: 40 }))?.bound, false);
  const v = saturation(summary({ cpu: 30, idle: 0, lag: 140, timerLag: 40 }));
  assert.equal(v?.bound, true);
  assert.match(v!.reasons[0]!, /140 ms late, 100 ms more than a plain timer/);
});

test('limits can be changed', () => {
  assert.equal(saturation(summary({ cpu: 20, idle: 150, lag: 30 }), { lagMs: 25 })?.bound, true);
  assert.equal(saturation(summary({ cpu: 60, idle: 20 }), { minCpuPercent: 70 })?.bound, false);
});

test('no generator samples: no verdict', () => {
  assert.equal(saturation({ metrics: {} }), null);
  assert.equal(saturation(null), null);
});
