// The generator's own cost, sampled by the monitor scenario (scripts/lib/monitor/monitor.ts) from our
// k6/x/measure extension into rtb_generator_* metrics of the same run: k6's CPU, memory, GC
// pauses, the machine's idle CPU, and how late timers ran on the workload VUs' event loops
// (the probe scripts/lib/monitor/lag-probe.ts runs in every iteration). The saturation verdict
// (tools/lib/saturation.mjs) reads them from the run's summary.
import { Counter, Gauge, Trend } from 'k6/metrics';
import { generator, type Generator } from 'k6/x/measure';
import { generatorInterval } from './generator-interval.ts';

/** k6's CPU (user + system) over each monitor interval, % of one core. */
export const generatorCpuPercent = new Trend('rtb_generator_cpu_percent');
/** k6's CPU time in each interval, ms: its sum is what the generator spent on the run. */
export const generatorCpuTime = new Counter('rtb_generator_cpu_time', true);
/** How many cores k6 can use at once (GOMAXPROCS): its CPU ceiling is this × 100%. */
export const generatorCores = new Gauge('rtb_generator_cores');
/** k6's resident set size, bytes. */
export const generatorRss = new Gauge('rtb_generator_rss_bytes');
/** Go garbage-collection stop-the-world pause in each interval, ms. */
export const generatorGcPause = new Counter('rtb_generator_gc_pause', true);
/** The latest of the workload VUs' lag-probe timers in each interval: how late it ran, ms. */
export const generatorLoopLag = new Trend('rtb_generator_loop_lag', true);
/** The same for a plain Go timer in k6 (no event loop): the part of the lag that is CPU starvation, not a busy loop. */
export const generatorTimerLag = new Trend('rtb_generator_timer_lag', true);
/** The machine's idle CPU over each interval, % of one core like k6's (k6, servers and anything else share the machine). */
export const hostIdlePercent = new Trend('rtb_generator_host_idle_percent');

/** Takes a snapshot, records the interval since `prev`, and returns the snapshot for the next call. */
export function recordGenerator(prev: Generator | null, tags: Record<string, string>): Generator {
  const cur = generator();
  generatorRss.add(cur.rssBytes, tags);
  generatorCores.add(cur.cores, tags);
  if (cur.loopLag.count > 0) generatorLoopLag.add(cur.loopLag.maxMs, tags);
  if (cur.timerLag.count > 0) generatorTimerLag.add(cur.timerLag.maxMs, tags);
  const interval = prev && generatorInterval(prev, cur);
  if (interval) {
    generatorCpuPercent.add(interval.cpuPercent, tags);
    generatorCpuTime.add(interval.cpuMs, tags);
    generatorGcPause.add(interval.gcPauseMs, tags);
    if (interval.hostIdlePercent !== null) hostIdlePercent.add(interval.hostIdlePercent, tags);
  }
  return cur;
}
