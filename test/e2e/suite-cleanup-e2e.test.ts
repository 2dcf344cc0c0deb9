// No test can hang, with the real k6: when the servers or influxd die in the middle of a suite
// built on suiteServers() (test/helpers.ts), the k6 run in flight is killed at once and the suite
// fails within seconds with a message naming what died, instead of waiting out a 2-minute run.
// The suite is test/fixtures/suite.fixture.ts, run here as a test run of its own.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { alive, k6Bin, runFixture } from '../helpers.ts';
import { influxdBin } from '../../tools/influx.mjs';

before(async () => {
  // built here, not inside the fixture's own time budget
  await Promise.all([k6Bin(), influxdBin()]);
});

/** PIDs of processes whose command line contains `marker` (how a k6 run of the fixture is found). */
function processesWith(marker: string) {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    });
}

for (const [mode, victim] of [
  ['servers-die', 'servers'],
  ['influxd-dies', 'influxd'],
] as const) {
  test(`${victim} killed while k6 runs: the suite fails within seconds naming ${victim}, and nothing is left running`, async () => {
    const marker = `rtbench-fixture-${randomUUID()}`;
    const res = await runFixture(mode, { FIXTURE_RUN: marker });
    assert.notEqual(res.code, 0, `the fixture suite fails:\n${res.output}`);
    const dead = res.pids.find((p) => p.what === victim);
    assert.ok(dead, `${victim} had started: ${JSON.stringify(res.pids)}\n${res.output}`);
    const message = new RegExp(`${victim} \\(pid ${dead.pid}\\) exited with SIGKILL in the middle of the suite`, 'g');
    // the k6 test and the test after it both fail with it (and the runner repeats each failure in its summary)
    assert.ok(
      (res.output.match(message) ?? []).length >= 2,
      `both tests fail naming ${victim} (pid ${dead.pid}):\n${res.output}`,
    );
    assert.doesNotMatch(
      res.output,
      /k6 ran to its end|reached the body of a test/,
      'neither test body got past what died',
    );
    // k6 would run for 120 s; the victim is killed 3 s in
    assert.ok(res.ms < 40_000, `ended in ${res.ms} ms`);
    for (const { what, pid } of res.pids) assert.equal(alive(pid), false, `${what} (pid ${pid}) is gone`);
    assert.deepEqual(processesWith(marker), [], 'the k6 run is gone');
  });
}
