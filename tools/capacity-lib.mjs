// @ts-check
// The capacity search's pure parts (no processes, so node:test exercises them): the transports
// and what each needs, a least-squares slope, the cost per connection from samples taken over a
// run, whether a level held (and if not, why), and the command line.
import { parseArgs } from 'node:util';
import { checksOf } from './harness.mjs';

const FEED_DROP = '/feed/drop?all=true';
const GRPC_DROP = '/grpc/drop';

/**
 * Every transport the search steps: its hold scenario, the servers it needs (--only), the /stats
 * protocol whose `connections` are the held connections (gRPC: SubscribeOrders streams), the churn
 * scenario and its stat, and `drop`, the control route with which the server cuts every held
 * connection at once (--storm; every client resumes after the last message it read).
 */
export const TRANSPORTS = {
  ws: { script: 'ws-hold.js', only: 'ws', stat: 'ws', churn: 'ws-churn.js', churnStat: 'ws', drop: FEED_DROP },
  sse: { script: 'sse-hold.js', only: 'sse', stat: 'sse', churn: 'sse-churn.js', churnStat: 'sse', drop: FEED_DROP },
  socketio: {
    script: 'socketio-hold.js',
    only: 'socketio',
    stat: 'socketio',
    churn: 'socketio-churn.js',
    churnStat: 'socketio',
    drop: FEED_DROP,
  },
  // churn: a new HTTP/2 connection each time, which /stats counts as a 'grpc' connection
  grpc: {
    script: 'grpc-hold.js',
    only: 'grpc',
    stat: 'grpc-stream',
    churn: 'grpc-churn.js',
    churnStat: 'grpc',
    drop: GRPC_DROP,
  },
  // the storm cuts the gRPC calls behind the bridge; each client opens its call again on a new WebSocket
  'grpc-ws': {
    script: 'grpc-ws-hold.js',
    only: 'grpc,grpc-ws',
    stat: 'grpc-ws',
    churn: 'grpc-ws-churn.js',
    churnStat: 'grpc-ws',
    drop: GRPC_DROP,
  },
};

/**
 * Least-squares slope and intercept of y over x; null with fewer than 3 points or no spread in x.
 * @param {number[]} xs @param {number[]} ys @returns {{ slope: number, intercept: number, r2: number } | null}
 */
export function leastSquares(xs, ys) {
  const n = xs.length;
  if (n < 3 || ys.length !== n) return null;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i] - mx) ** 2;
    sxy += (xs[i] - mx) * (ys[i] - my);
    syy += (ys[i] - my) ** 2;
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

/**
 * @typedef {object} Sample  one poll during a run
 * @property {number} t          ms since the run started
 * @property {number} conns      held connections the server reported
 * @property {number} rss        server RSS, bytes
 * @property {number} heap       server V8 heap used, bytes
 * @property {number} cpuMs      server CPU time so far, ms
 * @property {number | null} k6Rss   k6's RSS, bytes (null when it could not be read)
 * @property {number | null} k6CpuMs k6's CPU time so far, ms
 * @property {number | null} [lagMs] the server's event-loop lag since the last poll, its max, ms
 */

/**
 * What one connection costs, from the samples of one run: server RSS, heap and k6 RSS as the
 * least-squares slope against the open connections over the ramp (from the last sample before
 * connections appeared to the first at the peak; with fewer than 3 such samples, every sample
 * while connections were open), and CPU (% of one core) while holding: the mean over the samples
 * at the peak, per connection.
 * @param {Sample[]} samples
 */
export function costPerConnection(samples) {
  const peak = Math.max(0, ...samples.map((s) => s.conns));
  const firstOpen = samples.findIndex((s) => s.conns > 0);
  const firstFull = samples.findIndex((s) => s.conns >= 0.98 * peak);
  let ramp = peak > 0 ? samples.slice(Math.max(0, firstOpen - 1), firstFull + 1) : [];
  if (ramp.length < 3 && peak > 0)
    ramp = samples.slice(Math.max(0, firstOpen - 1)).filter((s, i) => i === 0 || s.conns > 0);
  const slope = (/** @type {(s: Sample) => number | null} */ y) => {
    const pts = ramp.filter((s) => y(s) !== null);
    const fit = leastSquares(
      pts.map((s) => s.conns),
      pts.map((s) => /** @type {number} */ (y(s))),
    );
    return fit ? { perConn: fit.slope, r2: fit.r2, points: pts.length } : null;
  };
  /** CPU % of one core per connection over the intervals that end and start at the peak. */
  const holding = (/** @type {(s: Sample) => number | null} */ cpu) => {
    let ms = 0;
    let dt = 0;
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1];
      const b = samples[i];
      const ca = cpu(a);
      const cb = cpu(b);
      if (a.conns < 0.98 * peak || b.conns < 0.98 * peak || ca === null || cb === null || b.t <= a.t) continue;
      ms += cb - ca;
      dt += b.t - a.t;
    }
    return dt > 0 && peak > 0 ? { perConn: (100 * ms) / dt / peak, seconds: dt / 1000 } : null;
  };
  return {
    peak,
    serverRss: slope((s) => s.rss),
    serverHeap: slope((s) => s.heap),
    k6Rss: slope((s) => s.k6Rss),
    /** % of one core per connection while holding (×1000: per 1,000 connections) */
    serverCpu: holding((s) => s.cpuMs),
    k6Cpu: holding((s) => s.k6CpuMs),
    maxServerRss: Math.max(0, ...samples.map((s) => s.rss)),
    maxK6Rss: Math.max(0, ...samples.map((s) => s.k6Rss ?? 0)),
  };
}

/**
 * @typedef {object} Bottleneck  which side was busy while every connection was held
 * @property {'cpu' | 'generator' | 'server' | 'unclear'} side
 * @property {string} text   the finding, in words, with its figures
 */

/**
 * Which side a level's delivery latency waited on, from the harness's samples while every
 * connection was held (k6's and the servers' CPU, the servers' event-loop lag) and the k6 run's
 * own rtb_generator_* metrics (the hold's first VU samples them: how late the VUs' event loops
 * and a plain Go timer ran, the machine's idle CPU). Latency is stamped in k6 when a message is
 * read, so a busy k6 delays it as surely as a busy server:
 *  - cpu: the machine had under 15 % of one core idle (median), so both compete for it;
 *  - generator: k6's event loops ran at least 50 ms (and half the p99) late at worst while the
 *    server's loop lagged at most half of that;
 *  - server: the server's loop lagged at least 50 ms (and half the p99) at worst;
 *  - unclear: neither.
 * @param {Sample[]} samples @param {any} summary k6 summary export @param {number | null} p99 ms
 * @param {number} cores the machine's
 * @returns {Bottleneck}
 */
export function bottleneck(samples, summary, p99, cores) {
  const peak = Math.max(0, ...samples.map((s) => s.conns));
  const held = samples.filter((s) => peak > 0 && s.conns >= 0.98 * peak);
  /** @param {(s: Sample) => number | null} cpu @returns {{ mean: number, max: number } | null} */
  const cpuPercent = (cpu) => {
    const per = [];
    for (let i = 1; i < held.length; i++) {
      const [a, b] = [held[i - 1], held[i]];
      const [ca, cb] = [cpu(a), cpu(b)];
      if (ca !== null && cb !== null && b.t > a.t) per.push({ ms: cb - ca, dt: b.t - a.t });
    }
    if (per.length === 0) return null;
    const sum = per.reduce((acc, x) => ({ ms: acc.ms + x.ms, dt: acc.dt + x.dt }), { ms: 0, dt: 0 });
    return { mean: (100 * sum.ms) / sum.dt, max: Math.max(...per.map((x) => (100 * x.ms) / x.dt)) };
  };
  const k6 = cpuPercent((s) => s.k6CpuMs);
  const server = cpuPercent((s) => s.cpuMs);
  const lags = held.map((s) => s.lagMs).filter((x) => typeof x === 'number');
  const serverLag = lags.length > 0 ? Math.max(...lags) : null;
  const m = summary?.metrics ?? {};
  const num = (/** @type {string} */ k, /** @type {string} */ st) =>
    typeof m[k]?.[st] === 'number' && Number.isFinite(m[k][st]) ? m[k][st] : null;
  const loopLag = num('rtb_generator_loop_lag', 'max');
  const timerLag = num('rtb_generator_timer_lag', 'max');
  const idle = num('rtb_generator_host_idle_percent', 'med');
  const pct = (/** @type {{ mean: number, max: number } | null} */ c) =>
    c ? `${c.mean.toFixed(0)} % of a core (peak ${c.max.toFixed(0)} %)` : 'unknown';
  const ms = (/** @type {number | null} */ x) => (x === null ? 'unknown' : `${x.toFixed(0)} ms`);
  const figures =
    `k6 ${pct(k6)}, servers ${pct(server)}, machine idle ${idle === null ? 'unknown' : `${idle.toFixed(0)} % of a core`}; ` +
    `k6's event loops up to ${ms(loopLag)} late (a Go timer ${ms(timerLag)}), the server's ${ms(serverLag)}`;
  const bar = Math.max(50, (p99 ?? 0) / 2);
  if (idle !== null && idle < 15)
    return {
      side: 'cpu',
      text: `CPU: all ${cores} cores busy (${figures})`,
    };
  if (loopLag !== null && loopLag >= bar && (serverLag ?? 0) <= loopLag / 2)
    return { side: 'generator', text: `the generator: k6, not the server, ran late (${figures})` };
  if (serverLag !== null && serverLag >= bar)
    return { side: 'server', text: `the server: its event loop ran late (${figures})` };
  return { side: 'unclear', text: `neither side's event loop ran late by half the p99 (${figures})` };
}

/**
 * The error reasons k6 logged (scripts/lib/monitor/metrics.ts logs the first of each reason in a
 * VU as `rtb_errors: <reason>`), most often logged first, with how often each was; ports and
 * numbered names (a connection's channel) are folded to N so one cause is one entry (its count is
 * then of distinct connections' reasons, each VU logging a reason at most once).
 * @param {string} output k6's stderr @param {number} [top]
 * @returns {Array<{ reason: string, logged: number }>}
 */
export function errorReasons(output, top = 3) {
  /** @type {Map<string, number>} */
  const counts = new Map();
  for (const m of output.matchAll(/rtb_errors: (.*?)"? source=console/g)) {
    const reason = m[1].replace(/(\d+\.\d+\.\d+\.\d+):\d+/g, '$1:N').replace(/-\d+\b/g, '-N');
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([reason, logged]) => ({ reason, logged }));
}

/** Lines in k6's or the servers' output that say a resource, not the transport, ran out. */
const LIMITS = [
  { re: /too many open files|EMFILE|ENFILE/i, name: 'open-file limit' },
  { re: /EADDRNOTAVAIL|cannot assign requested address/i, name: 'local ports (EADDRNOTAVAIL)' },
  { re: /out of memory|ENOMEM|heap out of memory|cannot allocate memory/i, name: 'memory' },
];

/**
 * @typedef {object} Verdict
 * @property {boolean} held
 * @property {string} reason   why not (empty when it held)
 * @property {string | null} limit  a resource that stopped it, if one did
 */

/**
 * Whether a level held: every connection made, p99 delivery latency within the SLO, errors at most
 * `maxErrorRate` of the connections, nothing lost, no failed check, k6 finished.
 * @param {{ level: number, sloMs: number, maxErrorRate: number, summary: any, exitCode: number | null, output: string, fileLimit: number | null }} run
 * @returns {Verdict}
 */
export function verdict({ level, sloMs, maxErrorRate, summary, exitCode, output, fileLimit }) {
  const limitHit = LIMITS.find((l) => l.re.test(output));
  const limit = limitHit
    ? limitHit.name === 'open-file limit' && fileLimit
      ? `open-file limit (${fileLimit})`
      : limitHit.name
    : null;
  const fail = (/** @type {string} */ reason) => ({
    held: false,
    reason: limit ? `${reason}; ${limit} reached` : reason,
    limit,
  });
  if (!summary) return fail(`k6 ended without a summary (exit ${exitCode})`);
  const m = summary.metrics ?? {};
  const num = (/** @type {string} */ k, /** @type {string} */ s) => (typeof m[k]?.[s] === 'number' ? m[k][s] : 0);
  const opened = num('rtb_connections', 'count');
  const errors = num('rtb_errors', 'count');
  const lost = num('rtb_lost', 'count');
  // the SLO's window: after the last connection was due (the hold scenarios tag it phase=hold)
  const p99 = (m['rtb_latency{phase:hold}'] ?? m.rtb_latency)?.['p(99)'];
  const failedChecks = (() => {
    let n = 0;
    const walk = (/** @type {any} */ g) => {
      for (const c of Array.isArray(g.checks) ? g.checks : Object.values(g.checks ?? {})) n += c.fails;
      for (const sub of Array.isArray(g.groups) ? g.groups : Object.values(g.groups ?? {})) walk(sub);
    };
    if (summary.root_group) walk(summary.root_group);
    return n;
  })();
  if (opened < level) return fail(`only ${opened} of ${level} connections were started`);
  if (errors / level > maxErrorRate)
    return fail(
      `errors ${((100 * errors) / level).toFixed(2)} % of connections (${errors}) > ${(100 * maxErrorRate).toFixed(2)} %`,
    );
  if (lost > 0) return fail(`${lost} messages lost`);
  if (typeof p99 !== 'number') return fail('no delivery latency recorded');
  if (p99 > sloMs) return fail(`delivery p99 ${p99.toFixed(0)} ms while holding > SLO ${sloMs} ms`);
  if (failedChecks > 0)
    return fail(`${failedChecks} failed checks (e.g. a connection stopped receiving before the end)`);
  if (exitCode !== 0 && exitCode !== 99) return fail(`k6 exited ${exitCode}`);
  return { held: true, reason: '', limit: null };
}

/**
 * The reconnect storm's timing, from the server's open connections polled during a run: the storm
 * starts once the server has held every one of `level` connections for two polls in a row (not at
 * a fixed time, which a slow ramp makes early or late; not at the first full poll, which counts
 * the last connections before they have subscribed, and the cut reaches only subscribers); then
 * it follows the fewest open and when the server held all of them again.
 */
export class StormWatch {
  /** @param {number} level */
  constructor(level) {
    this.level = level;
    /** @type {number | null} when the storm started, ms into the run */
    this.atMs = null;
    /** @type {number | null} the fewest connections open after it */
    this.lowest = null;
    /** @type {number | null} from the storm to the first poll with every connection open again, ms */
    this.allBackMs = null;
    /** @type {number | null} the first poll of the current run of polls with every connection open */
    this.fullSince = null;
  }

  /**
   * One poll: `conns` open at `tMs`. True when the storm should start now (once).
   * @param {number} tMs @param {number} conns
   */
  sample(tMs, conns) {
    if (this.atMs === null) {
      const full = conns >= this.level;
      const twice = full && this.fullSince !== null && tMs > this.fullSince;
      this.fullSince = full ? (this.fullSince ?? tMs) : null;
      if (!twice) return false;
      this.atMs = tMs;
      return true;
    }
    if (tMs <= this.atMs || this.allBackMs !== null) return false;
    this.lowest = Math.min(this.lowest ?? Infinity, conns);
    if (this.lowest < this.level && conns >= this.level) this.allBackMs = tMs - this.atMs;
    return false;
  }
}

/** A churn rate holds when this share of the target rate was achieved. */
export const CHURN_ACHIEVED = 0.95;

/**
 * Whether a churn rate held: at least 95 % of `rate` connections a second made (connected and
 * given their first message) over the window, connections that failed at most `maxErrorRate` of
 * those started, connect p99 within the SLO, no failed check, and the server's open connections
 * back at their baseline after the window (else connections leak). Every condition that failed is
 * named; so is a resource that ran out (from the output) and, when the loopback's TIME_WAIT
 * sockets came near the local port range, that.
 * @param {{ rate: number, windowMs: number, sloMs: number, maxErrorRate: number, summary: any,
 *   exitCode: number | null, output: string, fileLimit: number | null,
 *   baseline: number | null, after: number | null, timeWaitPeak?: number | null, portRange?: number | null }} run
 * @returns {Verdict & { achieved: number | null, made: number, failed: number, dropped: number }}
 */
export function churnVerdict(run) {
  const { rate, windowMs, sloMs, maxErrorRate, summary, exitCode, output, fileLimit, baseline, after } = run;
  const limitHit = LIMITS.find((l) => l.re.test(output));
  let limit = limitHit
    ? limitHit.name === 'open-file limit' && fileLimit
      ? `open-file limit (${fileLimit})`
      : limitHit.name
    : null;
  const tw = run.timeWaitPeak ?? null;
  const ports = run.portRange ?? null;
  if (!limit && tw !== null && ports !== null && tw >= 0.8 * ports)
    limit = `local ports: ${tw} sockets in TIME_WAIT against ${ports} ephemeral ports`;
  const reasons = [];
  if (!summary) reasons.push(`k6 ended without a summary (exit ${exitCode})`);
  const m = summary?.metrics ?? {};
  const num = (/** @type {string} */ k, /** @type {string} */ s) => (typeof m[k]?.[s] === 'number' ? m[k][s] : 0);
  const started = num('rtb_connections', 'count');
  const made = num('rtb_first_message_time', 'count');
  const dropped = num('dropped_iterations', 'count');
  const failed = Math.max(0, started - made);
  const achieved = summary ? made / (windowMs / 1000) : null;
  if (achieved !== null && achieved < CHURN_ACHIEVED * rate)
    reasons.push(
      `achieved ${achieved.toFixed(0)} of ${rate} connections/s (< ${CHURN_ACHIEVED * 100} %)` +
        (dropped > 0 ? `; k6 had no free VU for ${dropped} connections (they lived longer than VUs ÷ rate)` : ''),
    );
  if (summary && started > 0 && failed / started > maxErrorRate)
    reasons.push(
      `${failed} of ${started} connections failed (${((100 * failed) / started).toFixed(2)} % > ${(100 * maxErrorRate).toFixed(2)} %)`,
    );
  const p99 = m.rtb_connect_time?.['p(99)'];
  if (summary && typeof p99 !== 'number') reasons.push('no connect time recorded');
  else if (typeof p99 === 'number' && p99 > sloMs) reasons.push(`connect p99 ${p99.toFixed(0)} ms > SLO ${sloMs} ms`);
  if (baseline !== null && (after === null || after > baseline))
    reasons.push(
      after === null
        ? 'the server could not be asked for its connections after the window'
        : `the server still held ${after} connections after the window (${baseline} before): a leak`,
    );
  let failedChecks = 0;
  const walk = (/** @type {any} */ g) => {
    for (const c of Array.isArray(g.checks) ? g.checks : Object.values(g.checks ?? {})) failedChecks += c.fails;
    for (const sub of Array.isArray(g.groups) ? g.groups : Object.values(g.groups ?? {})) walk(sub);
  };
  if (summary?.root_group) walk(summary.root_group);
  if (failedChecks > 0) reasons.push(`${failedChecks} failed checks (a first message that was not the one pushed)`);
  if (summary && reasons.length === 0 && exitCode !== 0 && exitCode !== 99) reasons.push(`k6 exited ${exitCode}`);
  const held = reasons.length === 0;
  const reason = held ? '' : limit ? `${reasons.join('; ')}; ${limit} reached` : reasons.join('; ');
  return { held, reason, limit: held ? null : limit, achieved, made, failed, dropped };
}

/** @param {string} name @param {string} raw @returns {number} ms */
function duration(name, raw) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  if (!m) throw new Error(`${name}: '${raw}' is not a duration (e.g. 250ms, 30s, 2m)`);
  const unit = m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1;
  return Number(m[1]) * unit;
}

/** @param {string} name @param {string} raw @param {number} min @param {number} max */
function whole(name, raw, min, max) {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max)
    throw new Error(`${name}: '${raw}' is not a whole number from ${min} to ${max}`);
  return n;
}

/** @param {string[]} argv */
export function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      transports: { type: 'string', default: Object.keys(TRANSPORTS).join(',') },
      levels: { type: 'string' },
      churn: { type: 'boolean', default: false },
      rates: { type: 'string' },
      window: { type: 'string', default: '10s' },
      vus: { type: 'string' },
      slo: { type: 'string', default: '250ms' },
      'max-errors': { type: 'string', default: '0.1' },
      hold: { type: 'string', default: '30s' },
      'connect-rate': { type: 'string', default: '500' },
      'per-vu': { type: 'string', default: '500' },
      'msg-rate': { type: 'string', default: '1' },
      bytes: { type: 'string', default: '64' },
      'keep-going': { type: 'boolean', default: false },
      generators: { type: 'string', default: 'auto' },
      'generator-nice': { type: 'string', default: '0' },
      storm: { type: 'boolean', default: false },
      results: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const storm = values.storm;
  const churn = values.churn;
  if (churn && storm) throw new Error('--churn and --storm: choose one');
  if (churn && values.levels !== undefined) throw new Error('--levels: churn steps --rates (connections/s) instead');
  if (!churn && values.rates !== undefined) throw new Error('--rates: only with --churn (a hold steps --levels)');
  if (!churn && values.vus !== undefined) throw new Error('--vus: only with --churn');
  const transports = values.transports
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  for (const t of transports)
    if (!(t in TRANSPORTS))
      throw new Error(`--transports: unknown transport '${t}' (known: ${Object.keys(TRANSPORTS).join(', ')})`);
  if (transports.length === 0) throw new Error('--transports: names no transport');
  const rising = (/** @type {string} */ name, /** @type {string} */ raw) => {
    const list = raw.split(',').map((l) => whole(name, l, 1, 100_000));
    if (list.some((l, i) => i > 0 && l <= list[i - 1])) throw new Error(`${name}: '${raw}' must rise`);
    return list;
  };
  const levels = rising('--levels', values.levels ?? '1000,2000,5000,10000,19000');
  const rates = rising('--rates', values.rates ?? '100,200,500,1000,2000');
  const windowMs = duration('--window', values.window);
  if (windowMs < 1000) throw new Error(`--window: '${values.window}' is shorter than 1s`);
  const maxErrors = Number(values['max-errors']);
  if (!/^\d+(\.\d+)?$/.test(values['max-errors']) || maxErrors > 100)
    throw new Error(`--max-errors: '${values['max-errors']}' is not a percentage from 0 to 100`);
  return {
    help: values.help,
    transports: /** @type {Array<keyof typeof TRANSPORTS>} */ (transports),
    levels,
    sloMs: duration('--slo', values.slo),
    maxErrorRate: maxErrors / 100,
    holdMs: duration('--hold', values.hold),
    connectRate: whole('--connect-rate', values['connect-rate'], 1, 100_000),
    perVu: whole('--per-vu', values['per-vu'], 1, 20_000),
    msgRate: whole('--msg-rate', values['msg-rate'], 1, 100),
    bytes: whole('--bytes', values.bytes, 0, 65_536),
    keepGoing: values['keep-going'],
    /** k6 processes per level: a number, or null for one per PER_GENERATOR connections */
    generators: values.generators === 'auto' ? null : whole('--generators', values.generators, 1, 16),
    /** k6's niceness: > 0 gives the servers under test the CPU first on a machine they share */
    generatorNice: whole('--generator-nice', values['generator-nice'], 0, 19),
    storm,
    churn,
    rates,
    windowMs,
    vus: values.vus === undefined ? null : whole('--vus', values.vus, 1, 10_000),
    results: values.results,
  };
}

/** `--generators auto`: one k6 process per this many held connections. */
export const PER_GENERATOR = 5000;

/**
 * How many k6 processes hold `level` connections: `generators`, or one per PER_GENERATOR (null);
 * never more than the level's VUs (`perVu` connections each), so each process has one.
 * @param {number | null} generators @param {number} level @param {number} perVu
 */
export function generatorsFor(generators, level, perVu) {
  const wanted = generators ?? Math.ceil(level / PER_GENERATOR);
  return Math.max(1, Math.min(wanted, Math.ceil(level / perVu)));
}

/**
 * k6's execution segment for process `i` of `n` (k6 splits the VUs and iterations between them;
 * `exec.vu.idInTest` stays unique across the processes, so each opens its own share of the
 * connections): the arguments to add to its `k6 run`, none for a single process.
 * @param {number} i @param {number} n @returns {string[]}
 */
export function segmentArgs(i, n) {
  if (n === 1) return [];
  const at = (/** @type {number} */ k) => (k === 0 ? '0' : k === n ? '1' : `${k}/${n}`);
  const sequence = Array.from({ length: n + 1 }, (_, k) => at(k)).join(',');
  return ['--execution-segment', `${at(i)}:${at(i + 1)}`, '--execution-segment-sequence', sequence];
}

/**
 * One summary from the summary exports of several k6 processes that ran one level together.
 * Counters add up; a Rate adds its passes and fails; a Trend's count adds up, its avg is weighted
 * by count, its min is the least and every percentile (med, p(90), …) and max the highest of the
 * processes' — an upper bound of the whole run's: if no process has more than 1 % of its samples
 * above x, the run has not either; a Gauge keeps its highest. Checks add up by name. Thresholds
 * are left out (each process judged only its share).
 * @param {any[]} summaries @returns {any}
 */
export function mergeSummaries(summaries) {
  const present = summaries.filter(Boolean);
  if (present.length === 0) return null;
  if (present.length === 1) return present[0];
  /** @type {Record<string, any>} */
  const metrics = {};
  for (const name of new Set(present.flatMap((s) => Object.keys(s.metrics ?? {})))) {
    const all = present.map((s) => s.metrics?.[name]).filter(Boolean);
    /** @type {Record<string, number>} */
    const out = {};
    const keys = new Set(all.flatMap((v) => Object.keys(v).filter((k) => typeof v[k] === 'number')));
    const sum = (/** @type {string} */ k) => all.reduce((acc, v) => acc + (v[k] ?? 0), 0);
    const trend = keys.has('med') || [...keys].some((k) => k.startsWith('p('));
    for (const k of keys) {
      const vals = all.map((v) => v[k]).filter((x) => typeof x === 'number');
      if (k === 'min') out[k] = Math.min(...vals);
      else if (k === 'count' || k === 'passes' || k === 'fails' || (k === 'rate' && !trend)) out[k] = sum(k);
      else if (k === 'avg' && keys.has('count')) {
        const n = sum('count');
        out[k] = n > 0 ? all.reduce((acc, v) => acc + (v.avg ?? 0) * (v.count ?? 0), 0) / n : 0;
      } else out[k] = Math.max(...vals);
    }
    if (keys.has('passes') && keys.has('fails')) {
      const n = out.passes + out.fails;
      out.value = n > 0 ? out.passes / n : 0;
    }
    metrics[name] = out;
  }
  /** @type {Record<string, { name: string, passes: number, fails: number }>} */
  const checks = {};
  for (const summary of present.filter((x) => x.root_group))
    for (const [name, c] of Object.entries(checksOf(summary))) {
      const sum = (checks[name] ??= { name, passes: 0, fails: 0 });
      sum.passes += c.passes;
      sum.fails += c.fails;
    }
  return { metrics, root_group: { name: '', path: '', checks: Object.values(checks), groups: [] } };
}
