// Unit tests of load settings: durations, stages, profiles, env overrides, the config file and
// how the layers merge. Bad input must throw an error that names the setting and the bad token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration, SettingError } from '../../scripts/lib/load/settings.ts';
import { loadSettingsFromEnv, parseStages, PROFILE_NAMES, resolveExecutor } from '../../scripts/lib/load/profiles.ts';
import { mergeSettings, parseConfig } from '../../scripts/lib/load/config.ts';

const throwsNaming = (fn: () => unknown, ...tokens: string[]) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SettingError, `expected a SettingError, got ${String(err)}`);
    for (const t of tokens) assert.ok(err.message.includes(t), `error '${err.message}' should name '${t}'`);
    return true;
  });

test('durations parse to ms and format back', () => {
  assert.equal(parseDuration('D', '500ms'), 500);
  assert.equal(parseDuration('D', '1m30s'), 90_000);
  assert.equal(parseDuration('D', '2h'), 7_200_000);
  assert.equal(parseDuration('D', '1.5s'), 1500);
  assert.equal(formatDuration(90_000), '90s');
  assert.equal(formatDuration(120_000), '2m');
  assert.equal(formatDuration(1500), '1500ms');
  throwsNaming(() => parseDuration('DURATION', '10'), 'DURATION', "'10'");
  throwsNaming(() => parseDuration('DURATION', '1x'), 'DURATION', "'1x'");
  throwsNaming(() => parseDuration('DURATION', ''), 'DURATION');
});

test('STAGES parses and rejects bad tokens by name', () => {
  assert.deepEqual(parseStages('STAGES', '30s:10,1m:50,30s:0'), [
    { duration: '30s', target: 10 },
    { duration: '1m', target: 50 },
    { duration: '30s', target: 0 },
  ]);
  assert.deepEqual(parseStages('STAGES', ' 5s:1 , 5s:2 '), [
    { duration: '5s', target: 1 },
    { duration: '5s', target: 2 },
  ]);
  throwsNaming(() => parseStages('STAGES', '30s:10,1x:5'), 'STAGES', "'1x'");
  throwsNaming(() => parseStages('STAGES', '30s:10,1m'), 'STAGES', "'1m'");
  throwsNaming(() => parseStages('STAGES', '30s:ten'), 'STAGES', "'ten'");
  throwsNaming(() => parseStages('STAGES', '30s:-1'), 'STAGES', "'-1'");
  throwsNaming(() => parseStages('STAGES', '30s:1:2'), 'STAGES', "'30s:1:2'");
  throwsNaming(() => parseStages('STAGES', ','), 'STAGES');
});

test('every profile resolves to a closed and an open executor', () => {
  assert.deepEqual(PROFILE_NAMES, ['smoke', 'compare', 'load', 'stress', 'spike', 'soak']);
  for (const profile of PROFILE_NAMES) {
    const closed = resolveExecutor({ profile });
    assert.equal(closed.executor, 'ramping-vus');
    const open = resolveExecutor({ profile, model: 'open' });
    assert.equal(open.executor, 'ramping-arrival-rate');
    if (open.executor === 'ramping-arrival-rate') assert.ok(open.maxVUs >= open.preAllocatedVUs);
  }
});

test('VUS and RATE set the peak of the shape; DURATION stretches it', () => {
  const stress = resolveExecutor({ profile: 'stress', vus: 100 });
  assert.equal(stress.executor, 'ramping-vus');
  if (stress.executor !== 'ramping-vus') return;
  assert.deepEqual(
    stress.stages.map((s) => s.target),
    [40, 40, 100, 100, 0],
  );

  const open = resolveExecutor({ profile: 'compare', model: 'open', rate: 30 });
  if (open.executor !== 'ramping-arrival-rate') return assert.fail('open model');
  assert.deepEqual(
    open.stages.map((s) => s.target),
    [30, 30, 0],
  );
  assert.equal(open.timeUnit, '1s');
  assert.equal(open.maxVUs, 120);

  const compare = resolveExecutor({ profile: 'compare', duration: '1m' });
  if (compare.executor !== 'ramping-vus') return assert.fail('closed model');
  assert.deepEqual(
    compare.stages.map((s) => s.duration),
    ['10s', '40s', '10s'],
  );
});

test('explicit stages are absolute; ITERATIONS gives a fixed count', () => {
  const ex = resolveExecutor({ profile: 'soak', stages: parseStages('STAGES', '2s:3,2s:1') });
  assert.deepEqual(ex, {
    executor: 'ramping-vus',
    startVUs: 0,
    stages: [
      { duration: '2s', target: 3 },
      { duration: '2s', target: 1 },
    ],
    gracefulRampDown: '10s',
  });
  assert.deepEqual(resolveExecutor({ iterations: 1 }), {
    executor: 'shared-iterations',
    vus: 1,
    iterations: 1,
    maxDuration: '10m',
  });
  throwsNaming(() => resolveExecutor({ iterations: 1, model: 'open' }), 'ITERATIONS', 'MODEL=open');
  throwsNaming(() => resolveExecutor({ stages: parseStages('STAGES', '5s:0') }), '5s:0');
});

test('env overrides are parsed and bad values named', () => {
  assert.deepEqual(
    loadSettingsFromEnv({ PROFILE: 'stress', MODEL: 'open', RATE: '5', DURATION: '90s', MAX_VUS: '7', VUS: '' }),
    {
      profile: 'stress',
      model: 'open',
      rate: 5,
      duration: '90s',
      maxVUs: 7,
    },
  );
  throwsNaming(() => loadSettingsFromEnv({ PROFILE: 'stres' }), 'PROFILE', "'stres'", 'stress');
  throwsNaming(() => loadSettingsFromEnv({ MODEL: 'half-open' }), 'MODEL', "'half-open'");
  throwsNaming(() => loadSettingsFromEnv({ VUS: '0' }), 'VUS', "'0'");
  throwsNaming(() => loadSettingsFromEnv({ VUS: '2.5' }), 'VUS', "'2.5'");
  throwsNaming(() => loadSettingsFromEnv({ RATE: 'fast' }), 'RATE', "'fast'");
  throwsNaming(() => loadSettingsFromEnv({ DURATION: '0s' }), 'DURATION', "'0s'");
  throwsNaming(() => loadSettingsFromEnv({ STAGES: '10s:5,oops' }), 'STAGES', "'oops'");
});

test('config file: validated, unknown keys named', () => {
  const cfg = parseConfig('rtbench.config.json', {
    defaults: { profile: 'smoke' },
    scenarios: {
      'ws-image': { stages: '5s:2,5s:0', thresholds: { rtb_latency: ['p(95)<100'] } },
      'grpc-image': { stages: [{ duration: '3s', target: 4 }], model: 'closed', vus: 3 },
    },
  });
  assert.equal(cfg.defaults.profile, 'smoke');
  assert.deepEqual(cfg.scenarios['grpc-image']!.stages, [{ duration: '3s', target: 4 }]);
  throwsNaming(() => parseConfig('c.json', { scenario: {} }), 'c.json', "'scenario'");
  throwsNaming(() => parseConfig('c.json', { scenarios: { 'ws-image': { vu: 3 } } }), 'scenarios.ws-image.vu', "'vu'");
  throwsNaming(
    () => parseConfig('c.json', { scenarios: { 'ws-image': { profile: 'huge' } } }),
    'scenarios.ws-image.profile',
    "'huge'",
  );
  throwsNaming(
    () => parseConfig('c.json', { scenarios: { 'ws-image': { stages: [{ duration: '3x', target: 1 }] } } }),
    'stages[0].duration',
    "'3x'",
  );
  throwsNaming(
    () => parseConfig('c.json', { scenarios: { 'ws-image': { thresholds: { rtb_latency: [5] } } } }),
    'thresholds.rtb_latency',
  );
  throwsNaming(() => parseConfig('c.json', []), 'c.json');
});

test('layers merge: later wins, thresholds merge per metric, a profile drops earlier stages', () => {
  const merged = mergeSettings(
    { profile: 'compare', thresholds: { checks: ['rate==1'], rtb_latency: ['p(95)<5000'] } },
    { stages: parseStages('S', '5s:2') },
    { vus: 4, thresholds: { rtb_latency: ['p(95)<100'] } },
  );
  assert.deepEqual(merged, {
    profile: 'compare',
    stages: [{ duration: '5s', target: 2 }],
    vus: 4,
    thresholds: { checks: ['rate==1'], rtb_latency: ['p(95)<100'] },
  });
  const env = mergeSettings(merged, loadSettingsFromEnv({ PROFILE: 'smoke' }));
  assert.equal(env.stages, undefined);
  assert.equal(env.profile, 'smoke');
});
