// docker-compose.yml as `docker compose` itself sees it, without Docker: tools/go/compose-check
// loads it with compose-go (the loader docker compose uses; pinned in its go.mod, built once into
// the cache) the way `docker compose config` does: schema, interpolation, normalization and the
// consistency checks. The assertions read the loaded model, not the raw YAML.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from '../helpers.ts';
import { goTool } from '../../tools/k6.mjs';
import { pinnedVersion } from '../../tools/influx.mjs';

let bin: string;
before(async () => {
  bin = await goTool('rtbench.test/tools/go/compose-check', { dir: 'tools/go/compose-check' });
});

/** compose-check with a clean environment (no COMPOSE_* settings of the caller's). */
function composeCheck(args: string[], cwd = root) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COMPOSE_')));
  return spawnSync(bin, args, { cwd, env, encoding: 'utf8', timeout: 30_000 });
}

/** The loaded model of docker-compose.yml, with the given profiles. */
function model(profiles: string[]): any {
  const res = composeCheck(['-f', 'docker-compose.yml', ...profiles.flatMap((p) => ['--profile', p])]);
  assert.equal(res.status, 0, `compose-check rejected docker-compose.yml:\n${res.stderr}`);
  return JSON.parse(res.stdout);
}

test('docker compose accepts the compose file: grafana brings up influxdb, pinned images, anonymous viewer, k6 built from our Dockerfile', () => {
  const quiet = composeCheck(['-f', 'docker-compose.yml', '-q']);
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.equal(quiet.stdout, '');
  const s = model(['*']).services;
  assert.equal(
    s.influxdb.image,
    `influxdb:${pinnedVersion()}`,
    'the InfluxDB the tests build (tools/go/influxd) is the one compose runs',
  );
  assert.match(s.grafana.image, /^grafana\/grafana:\d+\.\d+\.\d+$/, 'a pinned Grafana');
  assert.deepEqual(Object.keys(s.grafana.depends_on), ['influxdb']);
  assert.equal(s.grafana.depends_on.influxdb.condition, 'service_healthy');
  assert.equal(s.grafana.environment.GF_AUTH_ANONYMOUS_ENABLED, 'true');
  assert.equal(s.grafana.environment.GF_AUTH_ANONYMOUS_ORG_ROLE, 'Viewer');
  assert.equal(s.k6.environment.K6_OUT, 'influxdb=http://influxdb:8086/k6');
  assert.equal(s.k6.environment.STATS_URL, 'http://servers:8080/stats');
  for (const service of Object.values<any>(s))
    for (const p of service.ports ?? []) assert.equal(p.host_ip, '127.0.0.1', 'ports are published on loopback only');
  for (const name of ['servers', 'k6']) {
    const { context, dockerfile } = s[name].build;
    assert.equal(context, root, `${name} builds from the repo root`);
    assert.ok(existsSync(join(context, dockerfile)), `${name}: ${dockerfile} exists`);
    // every COPY from the build context names something that exists
    for (const m of readFileSync(join(context, dockerfile), 'utf8').matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1]!.split(/\s+/))
        assert.ok(existsSync(join(context, src)), `${dockerfile}: COPY ${src} exists`);
    }
  }
  const k6File = readFileSync(join(root, s.k6.build.dockerfile), 'utf8');
  assert.match(
    k6File,
    /node tools\/k6\.mjs build/,
    'the k6 image builds k6 with our extensions the way npm run k6:build does',
  );
  assert.deepEqual(s.k6.profiles, ['k6']);
  assert.deepEqual(
    Object.keys(model([]).services).sort(),
    ['grafana', 'influxdb', 'servers'],
    'k6 is opt-in: `docker compose up` does not start a test',
  );
});

test('it is the real loader: a file docker compose would reject is rejected, with its reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtbench-compose-'));
  const cases: Array<[string, RegExp]> = [
    [
      'services:\n  a:\n    image: x\n    restart_policy: always\n',
      /validating .*compose\.yaml: services\.a\.restart_policy/,
    ],
    ['services:\n  a:\n    image: x\n    depends_on: [b]\n', /service "a" depends on undefined service "b"/],
    ['services:\n  a:\n    image: x\n    ports: ["notaport"]\n', /Invalid containerPort: notaport/],
  ];
  for (const [yaml, reason] of cases) {
    writeFileSync(join(dir, 'compose.yaml'), yaml);
    const res = composeCheck(['-q'], dir);
    assert.equal(res.status, 1, `rejected:\n${yaml}`);
    assert.match(res.stderr, reason);
  }
  const bad = composeCheck(['--nope']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /flag provided but not defined: -nope/);
});
