// The Grafana side without Grafana (no Docker engine or Grafana binary here): the committed
// dashboard JSON is what dashboards/src generates, every panel points at the provisioned
// datasource uid, the provisioning files parse and agree with docker-compose.yml. The compose
// file itself is loaded the way `docker compose` does in test/servers/compose.test.ts, and the
// queries run against a real InfluxDB in test/e2e/influx.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { root } from '../helpers.ts';
import { dashboardFiles } from '../../dashboards/src/index.ts';
import { DATASOURCE } from '../../dashboards/src/grafana.ts';

const yaml = (path: string): any => parse(readFileSync(path, 'utf8'));

test('the committed dashboards are what `npm run dashboards` generates', () => {
  for (const [file, text] of Object.entries(dashboardFiles())) {
    const path = join(root, 'dashboards', file);
    assert.ok(existsSync(path), `dashboards/${file} is missing: run npm run dashboards`);
    assert.ok(readFileSync(path, 'utf8') === text, `dashboards/${file} is out of date: run npm run dashboards`);
    JSON.parse(text);
  }
});

test('every dashboard: unique uid, panels on the provisioned datasource, ids unique, laid out within 24 columns', () => {
  const uids = new Set<string>();
  for (const [file, text] of Object.entries(dashboardFiles())) {
    const d = JSON.parse(text);
    assert.ok(!uids.has(d.uid), `${file}: uid ${d.uid} used twice`);
    uids.add(d.uid);
    const ids = new Set<number>();
    for (const p of d.panels) {
      assert.ok(!ids.has(p.id), `${file}: panel id ${p.id} used twice`);
      ids.add(p.id);
      assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${file}: ${p.title} overflows the grid`);
      if (p.type === 'row') continue;
      assert.ok(p.description, `${file}: ${p.title} says what it shows`);
      assert.ok(p.targets.length > 0, `${file}: ${p.title} has queries`);
      for (const t of p.targets) {
        if (t.datasource.type === '__expr__') {
          for (const ref of t.expression.match(/\$[A-Z]\b/g))
            assert.ok(
              p.targets.some((o: { refId: string }) => `$${o.refId}` === ref),
              `${file}: ${p.title}: ${ref} is a target`,
            );
        } else {
          assert.deepEqual(t.datasource, DATASOURCE, `${file}: ${p.title}/${t.refId} uses the provisioned datasource`);
          assert.match(t.query, /"testid" =~ \/\^\$testid\$\//, `${file}: ${p.title}/${t.refId} selects one run`);
          assert.match(t.query, /\$timeFilter/, `${file}: ${p.title}/${t.refId} follows the time picker`);
        }
      }
    }
    for (const v of d.templating.list) assert.deepEqual(v.datasource, DATASOURCE);
    assert.deepEqual(d.templating.list.map((v: { name: string }) => v.name).slice(0, 2), ['testid', 'scenario']);
  }
});

test("provisioning: the datasource has the dashboards' uid (InfluxQL, database k6); the provider reads where compose mounts the JSON", () => {
  const ds = yaml(join(root, 'dashboards', 'provisioning', 'datasources', 'influxdb.yaml'));
  assert.equal(ds.apiVersion, 1);
  assert.equal(ds.datasources.length, 1);
  const [source] = ds.datasources;
  assert.equal(source.uid, DATASOURCE.uid);
  assert.equal(source.type, DATASOURCE.type);
  assert.equal(source.jsonData.dbName, 'k6');
  assert.equal(source.jsonData.version, 'InfluxQL');
  assert.equal(source.url, 'http://influxdb:8086');

  const providers = yaml(join(root, 'dashboards', 'provisioning', 'dashboards', 'rtbench.yaml'));
  const path = providers.providers[0].options.path;
  const config = yaml(join(root, 'docker-compose.yml'));
  const volumes: string[] = config.services.grafana.volumes;
  assert.ok(
    volumes.includes(`./dashboards:${path}:ro`),
    `compose mounts dashboards/ at the provider's path ${path}: ${volumes}`,
  );
  assert.ok(volumes.includes('./dashboards/provisioning:/etc/grafana/provisioning:ro'));
  assert.ok(
    existsSync(
      join(
        root,
        'dashboards',
        config.services.grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH.slice(path.length + 1),
      ),
    ),
    'the home dashboard exists',
  );
});
