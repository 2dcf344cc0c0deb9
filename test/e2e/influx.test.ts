// Results into InfluxDB, end to end on a real influxd (InfluxDB 1.8.10, started by
// tools/influx.mjs; built from its Go module on first use): `npm start --influx` and plain k6 runs of every other scenario stream into
// it under one testid; then every query of every panel and variable of every dashboard runs
// against it, with Grafana's variables and macros substituted, and must return series for that
// testid (per protocol and per scenario too). Grafana expressions (ratios across measurements)
// are evaluated here from their inputs the way Grafana matches series: by tags.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dist, root, runCommand, runK6, startServers, suiteServers, waitFor } from '../helpers.ts';
import { freePort, influxQuery } from '../../tools/influx.mjs';
import { cacheDir } from '../../tools/k6.mjs';
import { DASHBOARDS } from '../../dashboards/src/index.ts';
import type { ExpressionTarget, InfluxTarget, Panel } from '../../dashboards/src/grafana.ts';

const IMAGE_BYTES = 545139;
type Series = { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] };

const suite = suiteServers({ servers: [] }, { influx: true, k6: true });
let testid = '';
const window = { from: Date.now() - 60_000, to: 0 };

const escapeRegex = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

/** A query as Grafana would send it: variables (a value, or "All" = .*), $timeFilter, $__interval. */
function render(query: string, vars: Record<string, string>): string {
  let q = query
    .replace(/\$timeFilter/g, `time >= ${window.from}ms AND time <= ${window.to}ms`)
    .replace(/\$__interval_ms/g, '1000')
    .replace(/\$__interval/g, '1s');
  for (const [name, value] of Object.entries(vars))
    q = q.replace(new RegExp(`\\$${name}\\b`, 'g'), value === '.*' ? value : escapeRegex(value));
  assert.doesNotMatch(q, /\$[a-z_]/i, `every variable substituted in: ${q}`);
  return q;
}

async function series(query: string): Promise<Series[]> {
  const [result] = await suite.influx.query(query);
  return result?.series ?? [];
}

/** Runs a panel's InfluxQL targets and evaluates its expressions; refId → series. */
async function runPanel(panel: Panel, vars: Record<string, string>): Promise<Map<string, Series[]>> {
  const out = new Map<string, Series[]>();
  for (const t of panel.targets.filter((t): t is InfluxTarget => t.datasource.type === 'influxdb'))
    out.set(t.refId, await series(render(t.query, vars)));
  for (const t of panel.targets.filter((t): t is ExpressionTarget => t.datasource.type === '__expr__'))
    out.set(t.refId, evaluate(t.expression, out));
  return out;
}

/** A Grafana math expression over one-value series, matched by their tags. */
function evaluate(expression: string, inputs: Map<string, Series[]>): Series[] {
  assert.match(expression, /^[\s$A-Z0-9+\-*/().]+$/);
  const refs = [...new Set(expression.match(/\$[A-Z]/g))].map((r) => r.slice(1));
  const key = (s: Series) => JSON.stringify(s.tags ?? {});
  const keys = (inputs.get(refs[0]!) ?? [])
    .map(key)
    .filter((k) => refs.every((r) => (inputs.get(r) ?? []).some((s) => key(s) === k)));
  return keys.map((k) => {
    const value = (ref: string) => Number(inputs.get(ref)!.find((s) => key(s) === k)!.values[0]![1]);
    const result = Function(
      `return ${expression.replace(/\$([A-Z])/g, (_m, r: string) => String(value(r)))};`,
    )() as number;
    return { name: 'expr', tags: JSON.parse(k), columns: ['time', 'value'], values: [[0, result]] };
  });
}

const panelsOf = (make: () => { panels: unknown[] }) =>
  make().panels.filter((p): p is Panel => (p as Panel).type !== 'row');

describe('npm run influx', () => {
  test('starts influxd on a loopback port with the database, prints the URL for k6, stops on SIGINT and removes its folder', async () => {
    const port = await freePort();
    const proc = spawn(
      process.execPath,
      [join(root, 'tools', 'influx.mjs'), '--port', String(port), '--db', 'rtb_cli'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
    let dir = '';
    try {
      await waitFor('the k6 --out line', () => out.includes('--out influxdb='), 30_000);
      assert.match(out, new RegExp(`--out influxdb=http://127\\.0\\.0\\.1:${port}/rtb_cli`));
      dir = /files in (\S+)/.exec(out)![1]!;
      assert.ok(existsSync(join(dir, 'influxdb.conf')));
      const [dbs] = await influxQuery(`http://127.0.0.1:${port}`, 'SHOW DATABASES');
      assert.ok(
        dbs!.series![0]!.values.some((v) => v[0] === 'rtb_cli'),
        'the database exists',
      );
      proc.kill('SIGINT');
      assert.equal(await exited, 0);
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT'); // it stops its influxd on SIGINT
      await exited;
    }
    assert.equal(existsSync(dir), false, 'the temp folder is gone');
  });

  test('runs InfluxDB 1.8.10; an INFLUXD that is not 1.x is refused by name; without Go or influxd it says what to install; bad options are named; --help', () => {
    // rtbench's own build is the version docker-compose.yml runs; an INFLUXD or PATH one only has to be 1.x
    const version = suite.influx.bin.startsWith(cacheDir()) ? /^InfluxDB v1\.8\.10 / : /^InfluxDB v1\./;
    assert.match(
      spawnSync(suite.influx.bin, ['version'], { encoding: 'utf8' }).stdout,
      version,
      `${suite.influx.bin} version`,
    );
    const influx = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      spawnSync(process.execPath, [join(root, 'tools', 'influx.mjs'), ...args], {
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, ...env },
      });
    const v2 = join(mkdtempSync(join(tmpdir(), 'rtbench-influxd2-')), 'influxd'); // what InfluxDB 2.x says
    writeFileSync(v2, '#!/bin/sh\necho "InfluxDB v2.7.11 (git: 8e9a3a1) build_date: 2024-12-05T00:00:00Z"\n', {
      mode: 0o755,
    });
    const notV1 = influx([], { INFLUXD: v2 });
    assert.equal(notV1.status, 1);
    assert.match(
      notV1.stderr,
      new RegExp(
        `INFLUXD=${escapeRegex(v2)} cannot be used: .*reports 'InfluxDB v2\\.7\\.11 .*', rtbench needs InfluxDB 1\\.x`,
      ),
    );
    const missing = influx([], { INFLUXD: join(tmpdir(), 'rtbench-no-such-influxd') });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /INFLUXD=\S+rtbench-no-such-influxd cannot be used: .*ENOENT/);
    const badPort = influx(['--port', 'x']);
    assert.equal(badPort.status, 1);
    assert.match(badPort.stderr, /--port: 'x' is not a port number/);
    const unknown = influx(['--nope']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /Unknown option '--nope'/);
    // neither Go nor an influxd: an empty cache, a PATH with only node
    const bare = mkdtempSync(join(tmpdir(), 'rtbench-path-'));
    symlinkSync(process.execPath, join(bare, 'node'));
    const noGo = influx([], {
      PATH: bare,
      HOME: bare,
      INFLUXD: '',
      RTBENCH_CACHE_DIR: mkdtempSync(join(tmpdir(), 'rtbench-cache-')),
    });
    assert.equal(noGo.status, 1);
    assert.match(noGo.stderr, /needs InfluxDB 1\.x.*install Go 1\.25 or newer.*INFLUXD/s);
    const help = influx(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /usage: npm run influx.*--port N.*--db NAME.*--data DIR.*INFLUXD/s);
  });
});

describe('runs streamed into InfluxDB, read back by every dashboard query', () => {
  test('npm start --influx: every run under one testid with a run tag; the table has server CPU per 1,000 messages and wire bytes per message', async () => {
    const results = mkdtempSync(join(tmpdir(), 'rtbench-results-'));
    const influx = suite.influx;
    const res = await runCommand(
      process.execPath,
      [
        join(root, 'tools', 'start.mjs'),
        '--only',
        'image',
        '--repeats',
        '1',
        '--duration',
        '3s',
        '-e',
        'IMAGES=2',
        '--influx',
        '--results',
        results,
      ],
      {
        timeoutMs: 300_000,
        env: { ...process.env, INFLUX_URL: influx.k6Out },
      },
    );
    assert.equal(res.code, 0, res.stdout + res.stderr);
    const comparison = JSON.parse(readFileSync(join(results, 'comparison.json'), 'utf8')) as {
      testid: string;
      runs: Array<{ run: string; msgs: number; cpuPer1k: number; wirePerMsg: number }>;
    };
    testid = comparison.testid;
    assert.match(res.stdout, new RegExp(`streaming to influxdb=${escapeRegex(influx.k6Out)} with testid=${testid}`));
    assert.match(res.stdout, /srv CPU ms\/1k\s+wire B\/msg/);
    assert.equal(comparison.runs.length, 4);
    for (const row of comparison.runs) {
      assert.ok(row.cpuPer1k > 0, `${row.run}: server CPU per 1,000 messages measured (${row.cpuPer1k})`);
      assert.ok(
        row.wirePerMsg > IMAGE_BYTES && row.wirePerMsg < 1.2 * IMAGE_BYTES,
        `${row.run}: an image and its ack on the wire per message (${row.wirePerMsg})`,
      );
    }
  });

  test('every other scenario streams too (a new protocol needs no dashboard edit), and so do errors', async () => {
    assert.ok(testid, 'the npm start run above set the testid');
    // The browser scenarios need Chromium (an optional extra) and have their own tier
    // (npm run test:browser); the wire bytes they write without a protocol tag are stood in for below.
    const BROWSER = ['browser.js', 'browser-effects.js'];
    const others = readdirSync(dist).filter(
      (f) => f.endsWith('.js') && !f.endsWith('-image.js') && !BROWSER.includes(f),
    );
    for (const script of others) {
      const run = await runK6(
        script,
        { ...suite.servers.env(), PROFILE: 'smoke', DURATION: '2s' },
        {
          args: [
            '--out',
            `influxdb=${suite.influx.k6Out}`,
            '--tag',
            `testid=${testid}`,
            '--tag',
            `run=${script.replace(/\.js$/, '')}`,
          ],
          timeoutMs: 120_000,
        },
      );
      const delivered = run.summary?.metrics?.rtb_messages?.count ?? 0;
      if (delivered === 0) continue; // not this feature's to judge; its own e2e test says why
      const stored = await series(
        `SELECT sum("value") FROM "rtb_messages" WHERE "testid" = '${testid}' AND "run" = '${script.replace(/\.js$/, '')}'`,
      );
      // InfluxDB keeps one point per series and timestamp: two samples of one series stamped in the
      // same nanosecond become one. Seen once with a hold scenario, thousands of connections on a
      // few VUs (4,179 stored of 4,180). So: never more than delivered, at most 0.1 % fewer.
      const kept = Number(stored[0]?.values[0]?.[1] ?? 0);
      assert.ok(
        kept <= delivered && kept >= delivered * 0.999,
        `${script}: every delivered message is in InfluxDB (${kept} stored of ${delivered})`,
      );
    }
    // a server that refuses the image: WebSocket close 1009 and gRPC RESOURCE_EXHAUSTED as rtb_errors
    const small = await startServers(['--max-message-bytes', '400000']);
    try {
      for (const script of ['ws-image.js', 'grpc-image.js']) {
        const run = await runK6(
          script,
          { ...small.env(), PROFILE: 'smoke', DURATION: '2s', IMAGES: '1' },
          {
            args: ['--out', `influxdb=${suite.influx.k6Out}`, '--tag', `testid=${testid}`, '--tag', 'run=too-big'],
          },
        );
        assert.ok(run.summary.metrics.rtb_errors.count >= 1, `${script} against the small server fails`);
      }
    } finally {
      await small.stop();
    }
    // k6's byte counters of a scenario that drives several protocols at once (the browser one: every
    // transport from one Chromium) carry no protocol tag; the per-protocol panels must leave them out.
    const write = await fetch(`${suite.influx.url}/write?db=${suite.influx.db}&precision=ms`, {
      method: 'POST',
      body: ['data_sent', 'data_received']
        .map((m) => `${m},testid=${testid},scenario=browser,run=browser,client=browser value=1000 ${Date.now()}`)
        .join('\n'),
    });
    assert.equal(write.status, 204, await write.text());
    window.to = Date.now() + 60_000;
    const errors = await series(
      `SELECT sum("value") FROM "rtb_errors" WHERE "testid" = '${testid}' GROUP BY "protocol", "reason"`,
    );
    assert.ok(
      errors.some((s) => s.tags!.protocol === 'ws' && /1009/.test(s.tags!.reason!)),
      JSON.stringify(errors),
    );
    assert.ok(
      errors.some((s) => s.tags!.protocol === 'grpc' && /ResourceExhausted/.test(s.tags!.reason!)),
      JSON.stringify(errors),
    );
  });

  test('the variables list this testid, its scenarios (not the monitor) and protocols', async () => {
    for (const make of Object.values(DASHBOARDS)) {
      const vars = make().templating.list;
      const values = async (name: string, bound: Record<string, string>) =>
        (await series(render(vars.find((v) => v.name === name)!.query, bound))).flatMap((s) =>
          s.values.map((v) => String(v[1])),
        );
      assert.ok((await values('testid', {})).includes(testid));
      const scenarios = await values('scenario', { testid });
      for (const s of ['ws-image', 'grpc-image']) assert.ok(scenarios.includes(s), `scenario ${s} in ${scenarios}`);
      assert.ok(!scenarios.includes('rtb_monitor'), 'the monitor is not a scenario to pick');
      if (vars.some((v) => v.name === 'protocol')) {
        const protocols = await values('protocol', { testid, scenario: '.*' });
        for (const p of ['ws', 'grpc']) assert.ok(protocols.includes(p), `protocol ${p} in ${protocols}`);
      }
    }
  });

  test('protocol comparison: every panel query returns series for the testid, for All and for each protocol', async () => {
    const panels = panelsOf(DASHBOARDS['rtbench-comparison.json']);
    const protocols = (
      await series(`SHOW TAG VALUES FROM "rtb_messages" WITH KEY = "protocol" WHERE "testid" = '${testid}'`)
    ).flatMap((s) => s.values.map((v) => String(v[1])));
    for (const panel of panels) {
      const all = await runPanel(panel, { testid, scenario: '.*', protocol: '.*' });
      for (const [refId, got] of all) {
        assert.ok(got.length > 0, `${panel.title} / ${refId} returns series`);
        for (const s of got)
          if (s.tags && 'protocol' in s.tags && panel.title !== 'Active VUs')
            assert.notEqual(
              s.tags.protocol,
              '',
              `${panel.title} / ${refId}: no untagged (monitor) series mixed in: ${JSON.stringify(s.tags)}`,
            );
      }
      for (const protocol of ['ws', 'grpc']) {
        const one = await runPanel(panel, { testid, scenario: '.*', protocol });
        for (const [refId, got] of one) {
          assert.ok(got.length > 0, `${panel.title} / ${refId} returns series for ${protocol}`);
          for (const s of got)
            if (s.tags?.protocol !== undefined)
              assert.equal(s.tags.protocol, protocol, `${panel.title} / ${refId} keeps to ${protocol}`);
        }
      }
      // every protocol that delivered messages shows up on the per-protocol panels, no edit needed
      if (panel.title === 'Delivered messages per second') {
        const shown = new Set(all.get('A')!.map((s) => s.tags!.protocol));
        for (const p of protocols) assert.ok(shown.has(p), `${p} shown`);
      }
    }
    const ratio = (title: string) => panels.find((p) => p.title === title)!;
    const wire = (
      await runPanel(ratio('Bytes on the wire per message'), { testid, scenario: '.*', protocol: '.*' })
    ).get('D')!;
    for (const s of wire.filter((s) => /-image-/.test(s.tags!.run!))) {
      const v = Number(s.values[0]![1]);
      assert.ok(v > IMAGE_BYTES && v < 1.2 * IMAGE_BYTES, `wire bytes per image ${s.tags!.run}: ${v}`);
    }
    const cpu = (
      await runPanel(ratio('Server CPU time per 1,000 messages'), { testid, scenario: '.*', protocol: '.*' })
    ).get('C')!;
    for (const s of cpu)
      assert.ok(Number(s.values[0]![1]) > 0, `server CPU per 1,000 messages ${JSON.stringify(s.tags)}`);
  });

  test('scenario drill-down: every panel query returns series for ws-image and for grpc-image', async () => {
    for (const scenario of ['ws-image', 'grpc-image']) {
      for (const panel of panelsOf(DASHBOARDS['rtbench-scenario.json'])) {
        for (const [refId, got] of await runPanel(panel, { testid, scenario })) {
          assert.ok(got.length > 0, `${scenario}: ${panel.title} / ${refId} returns series`);
        }
      }
    }
  });
});
