// No test can hang: a suite whose setup fails after it has started the servers (suiteServers in
// test/helpers.ts) ends within seconds, says why, and leaves no process behind. The suite is
// test/fixtures/suite.fixture.ts, run here as a test run of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alive, runFixture } from '../helpers.ts';

for (const [mode, why] of [
  [
    'setup-fails',
    /servers \(pid \d+\) exited with code 2 before ready[^]*--http-port: 'nope' is not a whole number from 0 to 65535/,
  ],
  ['setup-throws', /the suite setup failed on purpose/],
] as const) {
  test(`${mode}: a suite whose setup fails after starting the servers ends within seconds, says why, leaves no process behind`, async () => {
    const res = await runFixture(mode);
    assert.notEqual(res.code, 0, `the fixture suite fails:\n${res.output}`);
    assert.match(res.output, why, 'it says why the setup failed');
    assert.ok(res.ms < 30_000, `ended in ${res.ms} ms`);
    const servers = res.pids.filter((p) => p.what === 'servers');
    assert.equal(servers.length, 1, `the good servers process had started: ${JSON.stringify(res.pids)}`);
    for (const { what, pid } of servers) assert.equal(alive(pid), false, `${what} (pid ${pid}) is gone`);
  });
}
