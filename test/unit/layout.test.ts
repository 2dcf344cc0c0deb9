// The layout the README promises, checked on the sources: scenario files that state what they are
// in a short header and export the server-cost monitor themselves, scripts/ and servers/ that share
// only contracts/, and load settings written once in LOAD_SETTINGS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { root } from '../helpers.ts';
import { LOAD_SETTINGS, loadSettingsFromEnv } from '../../scripts/lib/load/profiles.ts';
import { parseScenarioSettings } from '../../scripts/lib/load/config.ts';

const scenarios = readdirSync(join(root, 'scripts')).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));

/** Every .ts file under `dir`, relative to the repo root. */
function tsFiles(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) return tsFiles(rel);
    return name.endsWith('.ts') ? [rel] : [];
  });
}

/** The module paths a file imports or re-exports, resolved against the repo root. */
function imports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/from\s+'(\.{1,2}\/[^']+)'/g)].map((m) => relative(root, join(root, file, '..', m[1]!)));
}

test('every scenario is under 80 lines with a header of at most six lines', () => {
  assert.ok(scenarios.length >= 12, `scenarios found: ${scenarios.join(', ')}`);
  for (const f of scenarios) {
    const lines = readFileSync(join(root, 'scripts', f), 'utf8')
      .trimEnd()
      .split('\n');
    assert.ok(lines.length < 80, `${f}: ${lines.length} lines`);
    const header = lines.findIndex((l) => !l.startsWith('//'));
    assert.ok(header >= 2 && header <= 6, `${f}: a header of ${header} comment lines`);
    assert.doesNotMatch(lines.join('\n'), /seed 00\d/i, `${f}: names a seed instead of the workload`);
  }
});

test('every scenario exports the server-cost monitor itself', () => {
  for (const f of scenarios) {
    const text = readFileSync(join(root, 'scripts', f), 'utf8');
    assert.match(text, /^export \{ monitor \} from '\.\/lib\/monitor\/monitor\.ts';$/m, f);
  }
});

test('servers/ and scripts/ share only contracts/', () => {
  for (const file of tsFiles('servers')) {
    for (const target of imports(file)) assert.ok(!target.startsWith('scripts/'), `${file} imports ${target}`);
  }
  for (const file of [...tsFiles('scripts'), ...tsFiles('contracts')]) {
    for (const target of imports(file)) assert.ok(!target.startsWith('servers/'), `${file} imports ${target}`);
  }
  for (const file of tsFiles('contracts')) {
    for (const target of imports(file)) assert.ok(target.startsWith('contracts/'), `${file} imports ${target}`);
  }
});

test('a load setting reads the same from env and from the config file, with the same limits', () => {
  for (const [key, { env }] of Object.entries(LOAD_SETTINGS)) {
    assert.match(env, /^[A-Z_]+$/, key);
  }
  assert.deepEqual(loadSettingsFromEnv({ VUS: '7', MAX_VUS: '9' }), parseScenarioSettings('c', { vus: 7, maxVUs: 9 }));
  assert.throws(() => loadSettingsFromEnv({ VUS: '100001' }), /VUS: '100001' is not a whole number from 1 to 100000/);
  assert.throws(
    () => parseScenarioSettings('c', { vus: 100001 }),
    /c\.vus: '100001' is not a whole number from 1 to 100000/,
  );
});
