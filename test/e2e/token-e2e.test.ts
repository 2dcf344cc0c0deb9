// End to end with --token: the real k6 runs every scenario against servers that require a token,
// passing it with -e TOKEN (scripts/lib/transport/auth.ts), and every check passes; without
// TOKEN each scenario family is refused (the run fails its checks or aborts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checksOf, k6Bin, runK6, startServers, type K6Run, type Servers } from '../helpers.ts';

const TOKEN = 'e2e-token-7f3a';
let servers: Servers;
before(async () => {
  await k6Bin();
  servers = await startServers(['--token', TOKEN]);
});
after(async () => {
  assert.equal(await servers.stop(), 0);
});

/** One short run of each scenario, with the settings the family's own e2e suite uses. */
const SCENARIOS: Array<[string, Record<string, string>]> = [
  ['ws-echo.js', { ITERATIONS: '1', WINDOW: '1s' }],
  ['socketio-echo.js', { ITERATIONS: '1', WINDOW: '1s' }],
  ['ws-image.js', { IMAGES: '2', ITERATIONS: '1' }],
  ['grpc-image.js', { IMAGES: '2', ITERATIONS: '1' }],
  ['grpc-image.js', { IMAGES: '2', ITERATIONS: '1', CLIENT: 'raw' }],
  ['ws-feed.js', { MSG_RATE: '20', WINDOW: '2s', ITERATIONS: '1' }],
  ['sse-feed.js', { MSG_RATE: '20', WINDOW: '2s', ITERATIONS: '1' }],
  ['grpc-unary.js', { ITERATIONS: '1', COUNT: '10' }],
  ['grpc-server-stream.js', { ITERATIONS: '1', COUNT: '10', INTERVAL: '2ms' }],
  ['grpc-client-stream.js', { ITERATIONS: '1', COUNT: '10' }],
  ['grpc-bidi.js', { ITERATIONS: '1', COUNT: '10' }],
  ['grpc-echo.js', { ITERATIONS: '1', WINDOW: '1s' }],
  ['grpc-over-ws.js', { ITERATIONS: '1', COUNT: '10', CALL: 'unary' }],
  ['grpc-over-ws.js', { ITERATIONS: '1', COUNT: '10', CALL: 'bidi' }],
  // the hold scenarios: channel declarations and the storm's drop-all are control requests too
  ...['ws-hold.js', 'sse-hold.js', 'socketio-hold.js', 'grpc-hold.js', 'grpc-ws-hold.js'].map(
    (script): [string, Record<string, string>] => [script, { CONNS: '20', PER_VU: '10', HOLD: '2s', MONITOR: 'off' }],
  ),
  ['ws-hold.js', { CONNS: '20', PER_VU: '10', HOLD: '4s', STORM_AT: '2s', MONITOR: 'off' }],
];
const label = (script: string, settings: Record<string, string>) =>
  settings.STORM_AT
    ? `${script} (STORM_AT=${settings.STORM_AT})`
    : settings.CLIENT || (script === 'grpc-over-ws.js' && settings.CALL === 'bidi')
      ? `${script} (${settings.CLIENT ? `CLIENT=${settings.CLIENT}` : `CALL=${settings.CALL}`})`
      : script;

const failedChecks = (run: K6Run) =>
  Object.values(run.summary ? checksOf(run.summary) : {}).reduce((n, c) => n + c.fails, 0);

describe('every scenario with --token and -e TOKEN', () => {
  for (const [script, settings] of SCENARIOS) {
    test(`${label(script, settings)} passes with the token`, async () => {
      const run = await runK6(script, { ...servers.env(), ...settings, TOKEN });
      assert.equal(run.code, 0, `k6 exited ${run.code}:\n${run.stderr.slice(-2000)}`);
      const checks = checksOf(run.summary);
      assert.ok(Object.keys(checks).length > 0, 'checks ran');
      assert.equal(failedChecks(run), 0, `no check failed: ${JSON.stringify(checks)}`);
      assert.equal(run.summary.metrics.rtb_errors?.count ?? 0, 0, 'no errors recorded');
    });
  }
});

describe('without TOKEN every family is refused', () => {
  for (const script of [
    'ws-echo.js',
    'socketio-echo.js',
    'sse-feed.js',
    'grpc-unary.js',
    'grpc-over-ws.js',
    'ws-hold.js',
  ]) {
    test(`${script} fails without the token`, async () => {
      const settings = SCENARIOS.find(([s]) => s === script)![1];
      const run = await runK6(script, { ...servers.env(), ...settings }, { timeoutMs: 120_000 });
      const errors = run.summary?.metrics?.rtb_errors?.count ?? 0;
      const refusedHttp = /HTTP 401/.test(run.stderr + run.stdout); // e.g. the feed's channel declaration, which aborts the iteration
      assert.ok(
        run.code !== 0 || failedChecks(run) > 0 || errors > 0 || refusedHttp,
        `${script} without a token did not succeed (exit ${run.code}, ${failedChecks(run)} failed checks, ${errors} errors)`,
      );
    });
  }
});
