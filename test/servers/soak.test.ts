// The short soak: tools/soak.mjs for 90 s — every protocol at once with reconnects, every answer
// verified — after a 60 s warm-up the servers' RSS grows by at most 10 %, and nothing is lost.
// (`npm run soak -- --duration 30m` is the long version.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSoak } from '../../tools/soak.mjs';

test('90 s of mixed traffic with reconnects: RSS growth ≤ 10 % after warm-up, nothing lost', async (t) => {
  const r = await runSoak({ durationMs: 90_000, warmupMs: 60_000, intervalMs: 2000, log: () => {} });
  t.diagnostic(
    `RSS ${r.baselineMiB.toFixed(0)} → ${r.finalMiB.toFixed(0)} MiB (${r.growthPct.toFixed(1)} %), samples ${r.samples.map((s) => s.rssMiB).join(' ')}`,
  );
  for (const [name, c] of Object.entries(r.tally)) {
    t.diagnostic(`${name}: sent ${c.sent}, received ${c.received}, lost ${c.lost}, bad ${c.bad}`);
    assert.ok(c.received > 0, `${name}: traffic flowed`);
  }
  assert.equal(r.lost, 0, 'nothing lost');
  assert.equal(r.bad, 0, 'every answer verified');
  assert.ok(r.samples.length >= 30, `sampled throughout (${r.samples.length} samples)`);
  assert.ok(r.growthPct <= 10, `RSS grew ${r.growthPct.toFixed(1)} % after warm-up (allowed 10 %)`);
});
