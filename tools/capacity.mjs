#!/usr/bin/env node
// @ts-check
// `npm run capacity`: how many live connections each streaming transport holds on this machine,
// what each connection costs the server and k6, and where it breaks. For every transport it
// steps the hold scenario (scripts/*-hold.ts) through rising levels of connections, each against
// freshly started servers, until a level does not hold: delivery p99 over the SLO, errors over
// the limit, a message lost, a check failed, or a resource (open files, ports, memory) ran out.
// While a level runs it polls the servers' GET /stats and k6's /proc/<pid> every second; the cost
// per connection is the least-squares slope over the ramp (tools/capacity-lib.mjs).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { root } from './paths.mjs';
import { k6Bin, runK6, startServers } from './harness.mjs';
import {
  StormWatch,
  TRANSPORTS,
  bottleneck,
  errorReasons,
  churnVerdict,
  costPerConnection,
  PER_GENERATOR,
  generatorsFor,
  mergeSummaries,
  parseOptions,
  segmentArgs,
  verdict,
} from './capacity-lib.mjs';

const USAGE = `usage: npm run capacity -- [options]
Steps the number of held connections per transport until one level does not hold, and reports
the largest level that held, what a connection costs (server and k6) and why the next step failed.
  --transports LIST    comma-separated, of: ${Object.keys(TRANSPORTS).join(', ')} (default: all)
  --levels LIST        connection counts to step through (default 1000,2000,5000,10000,19000)
  --slo D              delivery latency p99 a level must stay under (default 250ms)
  --max-errors P       errors allowed, % of connections (default 0.1)
  --hold D             how long every connection is held after the last opened (default 30s)
  --connect-rate N     connections opened per second (default 500)
  --per-vu N           connections per k6 VU (default 500)
  --msg-rate N         messages per second on each connection (default 1)
  --bytes N            payload bytes per message (default 64)
  --keep-going         run every level even after one failed
  --generators N|auto  k6 processes holding each level, the connections split between them (k6
                       execution segments); auto: one per ${PER_GENERATOR} connections (default auto).
                       One k6 process alone stalls every one of its connections while its Go garbage
                       collector marks a heap that grows with them; with several, a level's
                       latency percentiles are the highest process's (an upper bound)
  --generator-nice N   run k6 at this niceness (0-19, default 0): on a machine k6 shares with the
                       servers, the servers then get the CPU first and k6 what is left
  --storm              a reconnect storm instead: once the server has held every connection on two
                       polls in a row (a second apart) it cuts them all at once (POST /feed/drop?all=true;
                       gRPC and the bridge: POST /grpc/drop, every order stream ends UNAVAILABLE);
                       reports the time until every one is back and receiving (every client resumes
                       after the last message it read, with jittered backoff); a level holds with 0 lost, every connection
                       recovered and errors within --max-errors (no latency SLO: replayed messages
                       carry their first send time)
  --churn              connection churn instead: for each rate in --rates, new connections at that
                       rate for --window, each connecting, subscribing, reading the first message the
                       server pushes and closing; a rate holds when ≥ 95 % of it was achieved, failed
                       connections ≤ --max-errors, connect p99 ≤ --slo, and the server's open
                       connections are back at their baseline afterwards
  --rates LIST         churn: connections per second to step through (default 100,200,500,1000,2000)
  --window D           churn: how long each rate runs (default 10s)
  --vus N              churn: k6 VUs allocated up front (default rate ÷ 4, at least 20; k6 adds
                       more, up to one per connection/s, when connections outlive them)
  --results DIR        where to write capacity.json/.txt and each run's k6 summary (default results/capacity-<time>)
  --help               this text`;

/** The open-file limit a child gets once the harness has raised its soft limit to the hard one. */
function fileLimit() {
  try {
    return (
      Number(
        execFileSync('/bin/sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; ulimit -n'], {
          encoding: 'utf8',
        }).trim(),
      ) || null
    );
  } catch {
    return null;
  }
}

const TICKS_PER_S = 100; // Linux's USER_HZ for /proc/<pid>/stat

/** k6's RSS (bytes) and CPU time (ms) from /proc, or nulls where there is no /proc. @param {number | undefined} pid */
function procUsage(pid) {
  if (!pid) return { rss: null, cpuMs: null };
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
    return {
      rss: Number.isFinite(rssKb) ? rssKb * 1024 : null,
      cpuMs: Number.isFinite(ticks) ? (ticks * 1000) / TICKS_PER_S : null,
    };
  } catch {
    return { rss: null, cpuMs: null };
  }
}

/** `n thing` or `n things`. @param {number} n @param {string} one @param {string} many */
const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** What the k6 processes holding a level use together: RSS and CPU summed (nulls if any cannot be read). @param {number[]} pids */
function k6Usage(pids) {
  const each = pids.map(procUsage);
  const total = (/** @type {'rss' | 'cpuMs'} */ k) =>
    each.length > 0 && each.every((u) => u[k] !== null)
      ? each.reduce((acc, u) => acc + /** @type {number} */ (u[k]), 0)
      : null;
  return { rss: total('rss'), cpuMs: total('cpuMs') };
}

/** Sockets in TIME_WAIT on this machine (all processes), from /proc/net/sockstat; null without /proc. */
function timeWait() {
  try {
    return Number(/^TCP:.*\btw (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'utf8'))?.[1] ?? NaN) || 0;
  } catch {
    return null;
  }
}

/** How many local (ephemeral) ports a client may bind, from /proc/sys/net/ipv4/ip_local_port_range. */
function portRange() {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return hi >= lo ? hi - lo + 1 : null;
  } catch {
    return null;
  }
}

const kb = (/** @type {{ perConn: number } | null} */ s) => (s ? (s.perConn / 1024).toFixed(1) : '–');
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

/** What runs now, stopped if the search is interrupted. */
/** @type {{ k6: import('node:child_process').ChildProcess[], stopServers: (() => Promise<unknown>) | null }} */
const running = { k6: [], stopServers: null };
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.on(signal, () => {
    for (const p of running.k6) p.kill('SIGTERM');
    Promise.resolve(running.stopServers?.()).finally(() => process.exit(130));
  });
}

/**
 * One level of one transport against fresh servers: the k6 run, the samples, the cost and the verdict.
 * @param {keyof typeof TRANSPORTS} transport @param {number} level @param {ReturnType<typeof parseOptions>} o
 * @param {string} dir @param {number | null} files
 */
async function runLevel(transport, level, o, dir, files) {
  const t = TRANSPORTS[transport];
  const servers = await startServers(['--only', t.only], 20_000, {
    raiseFileLimit: true,
    // bounds of the hardened servers, where they exist: room for the level; the channels, all
    // declared before the first connection opens, outlive a ramp that runs late
    env: {
      RTBENCH_MAX_CONNECTIONS: '100000',
      RTBENCH_MAX_CHANNELS: '25000',
      RTBENCH_GRPC_MAX_STREAMS: '10000',
      RTBENCH_CHANNEL_IDLE_MS: '600000',
      // a handshake that waits on a starved server fails by k6's own timeouts, not the server's 10 s
      RTBENCH_HANDSHAKE_MS: '60000',
    },
  });
  running.stopServers = servers.stop;
  const loadBefore = load();
  /** @type {import('./capacity-lib.mjs').Sample[]} */
  const samples = [];
  /** @type {number[]} the k6 processes holding this level */
  const k6Pids = [];
  const started = Date.now();
  let lastPrint = 0;
  // --storm: the server cuts every connection once it holds all of them (StormWatch)
  const storm = new StormWatch(level);
  /** @type {number | null} how many the server said it cut */
  let dropped = null;
  const cutEverything = async () => {
    console.log(`    storm: every one of ${level} connections open; cutting them all at once`);
    try {
      const res = await fetch(`${servers.httpUrl}${t.drop}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
        signal: AbortSignal.timeout(30_000),
      });
      dropped = res.ok ? Number((await res.json()).dropped) : null;
    } catch {
      dropped = null;
    }
  };
  const poll = async () => {
    try {
      const s = await (await fetch(`${servers.httpUrl}/stats`, { signal: AbortSignal.timeout(2000) })).json();
      const k6 = k6Usage(k6Pids);
      const sample = {
        t: Date.now() - started,
        conns: s.protocols?.[t.stat]?.connections ?? 0,
        rss: s.rssBytes,
        heap: s.heapUsedBytes,
        cpuMs: s.cpuUserMs + s.cpuSystemMs,
        k6Rss: k6.rss,
        k6CpuMs: k6.cpuMs,
        lagMs: s.eventLoopLagMs?.max ?? null,
      };
      samples.push(sample);
      if (o.storm && storm.sample(sample.t, sample.conns)) void cutEverything();
      if (Date.now() - lastPrint >= 5000) {
        lastPrint = Date.now();
        const mb = (/** @type {number | null} */ b) => (b === null ? '–' : `${(b / 1e6).toFixed(0)} MB`);
        console.log(
          `    ${(sample.t / 1000).toFixed(0).padStart(4)} s  ${String(sample.conns).padStart(6)}/${level} open  server ${mb(sample.rss)}  k6 ${mb(sample.k6Rss)}  load ${load()}`,
        );
      }
    } catch {
      // a missed poll (the server is busy): the fit uses the others
    }
  };
  await poll(); // the baseline: the servers before any connection
  const timer = setInterval(poll, 1000);
  const rampMs = Math.ceil((level * 1000) / o.connectRate);
  const generators = generatorsFor(o.generators, level, o.perVu);
  // one process: its files in the level's folder; several: a folder each (k6-1, k6-2, …)
  const dirs = Array.from({ length: generators }, (_, i) => (generators === 1 ? dir : join(dir, `k6-${i + 1}`)));
  for (const d of dirs) mkdirSync(d, { recursive: true });
  /** @type {Array<import('./harness.mjs').K6Run>} */
  let parts;
  try {
    parts = await Promise.all(
      Array.from({ length: generators }, (_, i) =>
        runK6(
          t.script,
          {
            ...servers.env(),
            CONNS: String(level),
            PER_VU: String(o.perVu),
            CONNECT_RATE: String(o.connectRate),
            HOLD: `${o.holdMs}ms`,
            MSG_RATE: String(o.msgRate),
            PAYLOAD_BYTES: String(o.bytes),
            // a storm has no latency SLO (replayed messages carry their first send time): the end check allows 10 s
            SLO: o.storm ? '10s' : `${o.sloMs}ms`,
            MONITOR: 'off',
            ...(o.storm ? { STORM_AT: 'external' } : {}),
          },
          {
            dir: dirs[i],
            args: segmentArgs(i, generators),
            timeoutMs: rampMs + o.holdMs + 180_000,
            raiseFileLimit: true,
            niceness: o.generatorNice,
            onStart: (p) => {
              running.k6.push(p);
              if (p.pid) k6Pids.push(p.pid);
            },
          },
        ),
      ),
    );
  } finally {
    clearInterval(timer);
    running.k6 = [];
    await servers.stop();
    running.stopServers = null;
  }
  // several k6 processes: one summary (percentiles: the highest process's, an upper bound)
  const res = {
    code: parts.map((p) => p.code).find((c) => c !== 0 && c !== 99) ?? parts[0].code,
    stdout: parts.map((p) => p.stdout).join('\n'),
    stderr: parts.map((p) => p.stderr).join('\n'),
    summary: mergeSummaries(parts.map((p) => p.summary)),
  };
  if (generators > 1) writeFileSync(join(dir, 'summary.json'), JSON.stringify(res.summary, null, 2));
  writeFileSync(join(dir, 'k6.log'), res.stdout + res.stderr);
  writeFileSync(join(dir, 'samples.json'), JSON.stringify(samples));
  const cost = costPerConnection(samples);
  const v = verdict({
    level,
    sloMs: o.storm ? Infinity : o.sloMs,
    maxErrorRate: o.maxErrorRate,
    summary: res.summary,
    exitCode: res.code,
    output: res.stderr + servers.output(),
    fileLimit: files,
  });
  if (o.storm && v.held && storm.atMs === null)
    Object.assign(v, { held: false, reason: `never all ${level} connections open at once: no storm` });
  // a few connections may be between a drop and their reconnect when the cut comes (it then cuts
  // fewer): the storm counts when it cut all but the error budget
  else if (o.storm && v.held && (dropped ?? 0) < Math.ceil(level * (1 - o.maxErrorRate)))
    Object.assign(v, { held: false, reason: `the server cut only ${dropped ?? 'an unknown number'} of ${level}` });
  const m = res.summary?.metrics ?? {};
  const p99 = (m['rtb_latency{phase:hold}'] ?? m.rtb_latency)?.['p(99)'] ?? null;
  // what the latency waited on: named when a level fails on it, and kept for every level
  const busy = bottleneck(samples, res.summary, p99, cpus().length);
  if (!v.held && !v.limit && v.reason.startsWith('delivery p99')) v.reason += `; ${busy.text}`;
  // errors: what they were (k6 logs the first of each reason in a VU) and what was busy meanwhile
  const reasons = errorReasons(res.stderr);
  if (!v.held && !v.limit && v.reason.startsWith('errors')) {
    if (reasons.length > 0) v.reason += ` (${reasons.map((r) => `'${r.reason}' logged ${r.logged}×`).join(', ')})`;
    v.reason += `; ${busy.text}`;
  }
  // how long opening every connection really took, as the server saw them arrive
  const first = samples.find((x) => x.conns > 0);
  const full = samples.find((x) => x.conns >= 0.98 * level);
  return {
    generators,
    rampSeconds: first && full ? Math.round((full.t - first.t) / 1000) : null,
    plannedRampSeconds: Math.ceil(rampMs / 1000),
    transport,
    level,
    ...v,
    /** delivery p99 while every connection was held (phase=hold), and over the whole run */
    p99,
    bottleneck: busy,
    errorReasons: reasons,
    p99All: m.rtb_latency?.['p(99)'] ?? null,
    p50: m.rtb_latency?.med ?? null,
    connectP95: m.rtb_connect_time?.['p(95)'] ?? null,
    /** storm: connection lost → first message again, per connection (its max: all are back) */
    storm: o.storm,
    /** --storm: when the server cut them (s into the run), how many, and when it held them all again (poll resolution, 1 s) */
    cut: o.storm
      ? {
          atSeconds: storm.atMs === null ? null : storm.atMs / 1000,
          dropped,
          lowestOpen: storm.lowest,
          serverAllBackSeconds: storm.allBackMs === null ? null : storm.allBackMs / 1000,
        }
      : null,
    recovery: m.rtb_recovery_time
      ? {
          med: m.rtb_recovery_time.med,
          p99: m.rtb_recovery_time['p(99)'],
          max: m.rtb_recovery_time.max,
          count: m.rtb_recovery_time.count,
        }
      : null,
    errors: m.rtb_errors?.count ?? 0,
    lost: m.rtb_lost?.count ?? 0,
    messages: m.rtb_messages?.count ?? 0,
    cost,
    load: { before: loadBefore, after: load() },
    seconds: Math.round((Date.now() - started) / 1000),
  };
}

/**
 * One churn rate of one transport against fresh servers: the server's open connections before,
 * during and after the window, the TIME_WAIT sockets on the machine, and the verdict.
 * @param {keyof typeof TRANSPORTS} transport @param {number} rate @param {ReturnType<typeof parseOptions>} o
 * @param {string} dir @param {number | null} files
 */
async function runChurn(transport, rate, o, dir, files) {
  const t = TRANSPORTS[transport];
  const servers = await startServers(['--only', t.only], 20_000, {
    raiseFileLimit: true,
    env: { RTBENCH_MAX_CONNECTIONS: '100000' },
  });
  running.stopServers = servers.stop;
  const loadBefore = load();
  /** Open connections the server reports for the transport, or null when /stats did not answer. */
  const open = async () => {
    try {
      const s = await (await fetch(`${servers.httpUrl}/stats`, { signal: AbortSignal.timeout(2000) })).json();
      return { conns: s.protocols?.[t.churnStat]?.connections ?? 0, cpuMs: s.cpuUserMs + s.cpuSystemMs };
    } catch {
      return null;
    }
  };
  const before = await open();
  const baseline = before?.conns ?? null;
  /** @type {Array<{ t: number, conns: number, cpuMs: number, tw: number | null, k6CpuMs: number | null }>} */
  const samples = [];
  /** @type {number | undefined} */
  let k6Pid;
  const started = Date.now();
  const timer = setInterval(async () => {
    const s = await open();
    if (s) samples.push({ t: Date.now() - started, ...s, tw: timeWait(), k6CpuMs: procUsage(k6Pid).cpuMs });
  }, 1000);
  const env = {
    ...servers.env(),
    CONNECT_RATE: String(rate),
    WINDOW: `${o.windowMs}ms`,
    PAYLOAD_BYTES: String(o.bytes),
    MONITOR: 'off',
    ...(o.vus ? { VUS: String(o.vus) } : {}),
  };
  let res;
  /** @type {number | null} */
  let after = null;
  try {
    res = await runK6(t.churn, env, {
      dir,
      timeoutMs: o.windowMs + 180_000,
      raiseFileLimit: true,
      niceness: o.generatorNice,
      onStart: (p) => ((running.k6 = [p]), (k6Pid = p.pid)),
    });
    // every connection closed on the client side: the server should let go of each within a few seconds
    for (const until = Date.now() + 10_000; ; await new Promise((r) => setTimeout(r, 250))) {
      after = (await open())?.conns ?? null;
      if ((after !== null && baseline !== null && after <= baseline) || Date.now() > until) break;
    }
  } finally {
    clearInterval(timer);
    running.k6 = [];
    await servers.stop();
    running.stopServers = null;
  }
  writeFileSync(join(dir, 'k6.log'), res.stdout + res.stderr);
  writeFileSync(join(dir, 'samples.json'), JSON.stringify(samples));
  const tws = samples.map((x) => x.tw).filter((x) => x !== null);
  const timeWaitPeak = tws.length ? Math.max(.../** @type {number[]} */ (tws)) : null;
  const v = churnVerdict({
    rate,
    windowMs: o.windowMs,
    sloMs: o.sloMs,
    maxErrorRate: o.maxErrorRate,
    summary: res.summary,
    exitCode: res.code,
    output: res.stderr + servers.output(),
    fileLimit: files,
    baseline,
    after,
    timeWaitPeak,
    portRange: portRange(),
  });
  const m = res.summary?.metrics ?? {};
  const pct = (/** @type {string} */ k) =>
    m[k] ? { p50: m[k].med, p95: m[k]['p(95)'], p99: m[k]['p(99)'], max: m[k].max } : null;
  // CPU (% of one core) over the samples taken while k6 ran
  const cpu = (/** @type {'cpuMs' | 'k6CpuMs'} */ key) => {
    const xs = samples.filter((x) => x[key] !== null);
    if (xs.length < 2) return null;
    const a = xs[0];
    const b = xs[xs.length - 1];
    return b.t > a.t ? (100 * (Number(b[key]) - Number(a[key]))) / (b.t - a.t) : null;
  };
  return {
    transport,
    rate,
    ...v,
    started: m.rtb_connections?.count ?? 0,
    errors: m.rtb_errors?.count ?? 0,
    connect: pct('rtb_connect_time'),
    firstMessage: pct('rtb_first_message_time'),
    vusMax: m.vus_max?.max ?? null,
    peakOpen: Math.max(0, ...samples.map((x) => x.conns)),
    baseline,
    after,
    timeWaitPeak,
    serverCpu: cpu('cpuMs'),
    k6Cpu: cpu('k6CpuMs'),
    load: { before: loadBefore, after: load() },
    seconds: Math.round((Date.now() - started) / 1000),
  };
}

/** @param {Awaited<ReturnType<typeof runChurn>>} r */
function describeChurn(r) {
  const ms = (/** @type {number | undefined} */ x) => (x === undefined ? '–' : x.toFixed(0));
  const c = r.connect;
  const f = r.firstMessage;
  return (
    `${r.achieved === null ? '–' : r.achieved.toFixed(0)}/s made, ${r.failed} failed, ${r.dropped} without a VU; ` +
    `connect p50/p95/p99 ${ms(c?.p50)}/${ms(c?.p95)}/${ms(c?.p99)} ms, first message p50/p95/p99 ${ms(f?.p50)}/${ms(f?.p95)}/${ms(f?.p99)} ms; ` +
    `server open ${r.baseline} → peak ${r.peakOpen} → ${r.after} after; TIME_WAIT peak ${r.timeWaitPeak ?? '–'}; ` +
    `CPU server ${r.serverCpu === null ? '–' : r.serverCpu.toFixed(0)} %, k6 ${r.k6Cpu === null ? '–' : r.k6Cpu.toFixed(0)} % of a core`
  );
}

/** @param {Awaited<ReturnType<typeof runLevel>>} r */
function describe(r) {
  const c = r.cost;
  if (r.storm) {
    const s = (/** @type {number} */ ms) => `${(ms / 1000).toFixed(2)} s`;
    const cut = r.cut;
    const server =
      cut?.serverAllBackSeconds == null
        ? 'never held them all again'
        : `held them all again after ${cut.serverAllBackSeconds} s`;
    if (cut?.atSeconds == null)
      return `never all ${r.level} open at once, so no storm; ${r.lost} lost, ${r.errors} errors`;
    const back = r.recovery
      ? `${r.recovery.count} of ${r.level} recovered, all back and receiving after ${s(r.recovery.max)} (median ${s(r.recovery.med)})`
      : 'none recovered';
    return `cut ${cut.dropped ?? '?'} at ${cut.atSeconds} s; ${back}, ${r.lost} lost, ${r.errors} errors; the server ${server}`;
  }
  const cpu = c.serverCpu ? `${(c.serverCpu.perConn * 1000).toFixed(1)} %/1k` : '–';
  const ramp =
    r.rampSeconds === null
      ? 'never all open at once'
      : `all open after ${r.rampSeconds} s (planned ${r.plannedRampSeconds} s)`;
  return `${ramp}; p99 ${r.p99 === null ? '–' : r.p99.toFixed(0)} ms holding (${r.p99All === null ? '–' : r.p99All.toFixed(0)} ms with the ramp), connect p95 ${r.connectP95 === null ? '–' : r.connectP95.toFixed(0)} ms, server ${kb(c.serverRss)} KB RSS (${kb(c.serverHeap)} KB heap, ${cpu} CPU) and k6 ${kb(c.k6Rss)} KB per connection`;
}

async function main() {
  let o;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`npm run capacity: ${/** @type {Error} */ (err).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (o.help) return console.log(USAGE);
  const stamp = new Date()
    .toISOString()
    .replace(/[:.]/g, '-')
    .replace(/-\d+Z$/, 'Z');
  const resultsDir = o.results ?? join(root, 'results', `capacity-${stamp}`);
  mkdirSync(resultsDir, { recursive: true });
  const files = fileLimit();
  const machine = `${cpus().length} cores, k6 and the servers on the same machine, open-file limit ${files ?? 'unknown'} per process`;
  console.log('▶ building scenarios and servers');
  execFileSync(process.execPath, [join(root, 'build.mjs'), '--quiet'], { stdio: 'inherit' });
  console.log('▶ checking k6');
  await k6Bin();
  if (o.churn) return churnSearch(o, resultsDir, files, machine);
  console.log(
    `▶ capacity: ${o.transports.join(', ')} at ${o.levels.join(', ')} connections; SLO p99 ≤ ${o.sloMs} ms, errors ≤ ${(o.maxErrorRate * 100).toFixed(2)} %, 0 lost; ${o.msgRate} msg/s of ${o.bytes} B each, hold ${o.holdMs / 1000} s; ${machine}`,
  );

  const { runs, summary } = await stepUntilBroken(
    o,
    o.levels,
    (transport, level) => ({
      dir: join(resultsDir, `${transport}-${level}`),
      title: `${transport}: ${level} connections, ramp ${Math.ceil(level / o.connectRate)} s at ${o.connectRate}/s, hold ${o.holdMs / 1000} s, ${plural(generatorsFor(o.generators, level, o.perVu), 'k6 process', 'k6 processes')}`,
    }),
    (transport, level, dir) => runLevel(transport, level, o, dir, files),
    describe,
  );

  const secs = (/** @type {number | undefined} */ ms) => (ms === undefined ? '–' : (ms / 1000).toFixed(2));
  const nextStep = (/** @type {any} */ broke) =>
    broke ? `${broke.level}: ${broke.reason}` : `all levels held (up to ${o.levels.at(-1)})`;
  const rows = o.storm
    ? runs.map((r) => [
        r.transport,
        String(r.level),
        r.held ? 'yes' : 'no',
        secs(r.recovery?.max),
        secs(r.recovery?.med),
        String(r.lost),
        String(r.errors),
        r.reason || '–',
      ])
    : summary.map(({ transport, held, broke }) => {
        const c = (held ?? broke)?.cost;
        return [
          transport,
          held ? String(held.level) : `< ${o.levels[0]}`,
          held?.p99 != null ? held.p99.toFixed(0) : '–',
          held?.connectP95 != null ? held.connectP95.toFixed(0) : '–',
          kb(c?.serverRss ?? null),
          kb(c?.serverHeap ?? null),
          c?.serverCpu ? (c.serverCpu.perConn * 1000).toFixed(1) : '–',
          kb(c?.k6Rss ?? null),
          nextStep(broke),
        ];
      });
  const head = o.storm
    ? ['transport', 'connections', 'recovered', 'all back s', 'median s', 'lost', 'errors', 'why not']
    : [
        'transport',
        'held',
        'p99 ms holding',
        'connect p95 ms',
        'server KB/conn',
        'heap KB/conn',
        'CPU %/1k conns',
        'k6 KB/conn',
        'next step failed',
      ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (/** @type {string[]} */ r) =>
    r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  const table = [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
  const notes = o.storm
    ? `${machine}; load average (1/5/15 min) at the end ${load()}. Storm: the server cut every connection at once as soon as it held all of them; "all back": the longest time from a connection's loss to its first message again.`
    : `${machine}; load average (1/5/15 min) at the end ${load()}. Costs: least-squares slope over the ramp at the largest level that held (else the first that failed); CPU: % of one core per 1,000 connections while all were held.`;
  console.log(`\n${table}\n${notes}`);
  writeFileSync(join(resultsDir, 'capacity.txt'), `${table}\n${notes}\n`);
  writeFileSync(join(resultsDir, 'capacity.json'), JSON.stringify({ options: o, machine, runs }, null, 2));
  console.log(`\nresults: ${resultsDir}`);
}

/**
 * The search both modes share: for each transport, one run per step (a level, a churn rate) in
 * rising order until one does not hold (every step with --keep-going); returns every run and,
 * per transport, the largest step that held and the first that did not.
 * @template {{ held: boolean, reason: string, seconds: number, load: { after: string } }} R
 * @param {ReturnType<typeof parseOptions>} o @param {number[]} steps
 * @param {(transport: keyof typeof TRANSPORTS, step: number) => { dir: string, title: string }} name
 * @param {(transport: keyof typeof TRANSPORTS, step: number, dir: string) => Promise<R>} run
 * @param {(r: R) => string} describeRun
 */
async function stepUntilBroken(o, steps, name, run, describeRun) {
  /** @type {R[]} */
  const runs = [];
  /** @type {Array<{ transport: keyof typeof TRANSPORTS, held: R | null, broke: R | null }>} */
  const summary = [];
  for (const transport of o.transports) {
    /** @type {R | null} */
    let held = null;
    /** @type {R | null} */
    let broke = null;
    for (const step of steps) {
      const { dir, title } = name(transport, step);
      mkdirSync(dir, { recursive: true });
      console.log(`▶ ${title} (load ${load()})`);
      const r = await run(transport, step, dir);
      runs.push(r);
      console.log(
        `  ${r.held ? '✓ held' : `✗ did not hold: ${r.reason}`} — ${describeRun(r)}; ${r.seconds} s, load ${r.load.after}`,
      );
      if (r.held) held = r;
      else {
        broke ??= r;
        if (!o.keepGoing) break;
      }
    }
    summary.push({ transport, held, broke });
  }
  return { runs, summary };
}

/** A table with a header, padded columns and the last column free. @param {string[]} head @param {string[][]} rows */
function table(head, rows) {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (/** @type {string[]} */ r) =>
    r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * --churn: every transport through the rising rates until one does not hold; the largest rate
 * that held, and why the next failed.
 * @param {ReturnType<typeof parseOptions>} o @param {string} resultsDir @param {number | null} files @param {string} machine
 */
async function churnSearch(o, resultsDir, files, machine) {
  const ports = portRange();
  console.log(
    `▶ churn: ${o.transports.join(', ')} at ${o.rates.join(', ')} connections/s for ${o.windowMs / 1000} s each; a rate holds with ≥ 95 % achieved, failed ≤ ${(o.maxErrorRate * 100).toFixed(2)} %, connect p99 ≤ ${o.sloMs} ms, server connections back to baseline; ${machine}; ${ports ?? 'unknown'} local ports`,
  );
  const { runs, summary } = await stepUntilBroken(
    o,
    o.rates,
    (transport, rate) => ({
      dir: join(resultsDir, `${transport}-churn-${rate}`),
      title: `${transport}: ${rate} connections/s for ${o.windowMs / 1000} s`,
    }),
    (transport, rate, dir) => runChurn(transport, rate, o, dir, files),
    describeChurn,
  );
  const ms = (/** @type {number | undefined} */ x) => (x === undefined ? '–' : x.toFixed(0));
  const rows = summary.map(({ transport, held, broke }) => {
    const r = held ?? broke;
    return [
      transport,
      held ? `${held.rate}/s` : `< ${o.rates[0]}/s`,
      r?.achieved == null ? '–' : `${r.achieved.toFixed(0)}/s`,
      `${ms(r?.connect?.p50)}/${ms(r?.connect?.p95)}/${ms(r?.connect?.p99)}`,
      `${ms(r?.firstMessage?.p50)}/${ms(r?.firstMessage?.p95)}/${ms(r?.firstMessage?.p99)}`,
      r ? `${r.failed}` : '–',
      r ? `${r.baseline} → ${r.after}` : '–',
      broke ? `${broke.rate}/s: ${broke.reason}` : `all rates held (up to ${o.rates.at(-1)}/s)`,
    ];
  });
  const text = table(
    [
      'transport',
      'held',
      'made',
      'connect p50/p95/p99 ms',
      'first msg p50/p95/p99 ms',
      'failed',
      'server conns before → after',
      'next rate failed',
    ],
    rows,
  );
  const notes = `${machine}; ${ports ?? 'unknown'} local ports; load average (1/5/15 min) at the end ${load()}. Figures for the largest rate that held (else the first that failed). Connect: the transport's connect time (rtb_connect_time); first msg: start of connecting → the first pushed message read (rtb_first_message_time).`;
  console.log(`\n${text}\n${notes}`);
  writeFileSync(join(resultsDir, 'churn.txt'), `${text}\n${notes}\n`);
  writeFileSync(
    join(resultsDir, 'churn.json'),
    JSON.stringify({ options: o, machine, portRange: ports, runs }, null, 2),
  );
  console.log(`\nresults: ${resultsDir}`);
}

main().catch((err) => {
  console.error(`npm run capacity: ${err?.stack ?? err}`);
  process.exit(1);
});
