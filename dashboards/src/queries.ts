// InfluxQL over what k6's InfluxDB output writes: one measurement per metric, the sample in the
// field "value", the sample's tags as tags (testid, scenario, protocol, pattern, run, reason, …;
// k6 turns vu/iter/url into fields). Queries select and group by tags only, never by a scenario
// or protocol name, so a new scenario or protocol shows up on the dashboards without edits.

const testid = `"testid" =~ /^$testid$/`;

/** WHERE clauses, with or without the dashboard's $protocol variable. */
export function filters(withProtocol: boolean) {
  const protocol = withProtocol ? ` AND "protocol" =~ /^$protocol$/` : '';
  // Per protocol, k6's byte counters only where they belong to one protocol: the browser scenario
  // drives every transport from one Chromium, so its data_sent/data_received carry no protocol tag
  // (a missing tag reads as '' in InfluxQL, which /^.*$/ — "All" — would let in as a protocol).
  const oneProtocol = withProtocol ? ` AND "protocol" != ''` : '';
  return {
    /** The workload's own metrics (rtb_*, checks, iterations). */
    workload: `${testid} AND "scenario" =~ /^$scenario$/${protocol} AND $timeFilter`,
    /** k6's network counters of the workload: the monitor's polls (role=monitor) left out. */
    wire: `${testid} AND "scenario" =~ /^$scenario$/${protocol}${oneProtocol} AND "role" != 'monitor' AND $timeFilter`,
    /** The server-cost monitor's samples: their `workload` tag names the scenario they were taken beside. */
    server: `${testid} AND "workload" =~ /^$scenario$/${protocol} AND $timeFilter`,
    /** Whole-run metrics (k6's `vus` carries only the run's own tags). */
    run: `${testid} AND $timeFilter`,
  };
}

/** Per-second rate of a k6 Counter (its samples are increments) over each $__interval bucket. */
export const PER_SECOND = `sum("value") / ($__interval_ms / 1000)`;

/** A time-bucketed GROUP BY. */
export const byTime = (...tags: string[]) =>
  `GROUP BY time($__interval)${tags.map((t) => `, "${t}"`).join('')} fill(none)`;

/** A whole-range GROUP BY (one value per series). */
export const byTags = (...tags: string[]) => `GROUP BY ${tags.map((t) => `"${t}"`).join(', ')}`;

/**
 * k6's `vus` across the runners of a split run (k6-operator tags each runner's samples with
 * instance_id, so does `npm start -- --segments N`): each runner's peak in the interval, summed,
 * instead of the largest runner's. A run without instance_id is one series, summed alone.
 */
export const vusAcrossRunners = (where: string, ...tags: string[]) =>
  `SELECT sum("max") FROM (SELECT max("value") FROM "vus" WHERE ${where} ${byTime(...tags, 'instance_id')}) WHERE $timeFilter ${byTime(...tags)}`;
