// "rtbench — scenario drill-down": one scenario of one run (testid) in detail, each of its runs
// (e.g. modes of one scenario in `npm start`) a series of its own.
import { bars, dashboard, influx, math, row, table, timeseries, variable } from './grafana.ts';
import { PER_SECOND, byTags, byTime, filters, vusAcrossRunners } from './queries.ts';

const f = filters(false);

export const scenario = () =>
  dashboard({
    uid: 'rtbench-scenario',
    title: 'rtbench — scenario drill-down',
    description:
      'One scenario of one run: latency distribution over time, throughput, errors, checks, load, wire bytes and the server cost beside it.',
    variables: [
      variable('testid', 'Test run', 'SHOW TAG VALUES FROM /^(vus|rtb_messages|rtb_errors)$/ WITH KEY = "testid"', {
        newestFirst: true,
      }),
      variable(
        'scenario',
        'Scenario',
        'SHOW TAG VALUES FROM /^rtb_(messages|errors)$/ WITH KEY = "scenario" WHERE "testid" =~ /^$testid$/',
      ),
    ],
    links: [
      {
        type: 'link',
        title: 'Protocol comparison',
        url: '/d/rtbench-comparison',
        includeVars: true,
        keepTime: true,
        icon: 'dashboard',
      },
    ],
    panels: [
      row('Workload'),
      timeseries(
        'Latency per message',
        [
          influx(
            'A',
            `SELECT percentile("value", 50) AS "p50", percentile("value", 95) AS "p95", percentile("value", 99) AS "p99", max("value") AS "max" FROM "rtb_latency" WHERE ${f.workload} ${byTime('run')}`,
            { alias: '$col $tag_run' },
          ),
        ],
        {
          description:
            'rtb_latency p50, p95, p99 and max in each interval (ms). How it is taken: the scenario header and the `measure` tag (rtt or oneway).',
          unit: 'ms',
        },
      ),
      table(
        'Latency per message, whole range',
        [
          influx(
            'A',
            `SELECT percentile("value", 50) AS "p50", percentile("value", 90) AS "p90", percentile("value", 95) AS "p95", percentile("value", 99) AS "p99", max("value") AS "max", count("value") AS "messages" FROM "rtb_latency" WHERE ${f.workload} ${byTags('run', 'measure')}`,
            { table: true },
          ),
        ],
        { description: 'rtb_latency over the selected time range, per run and measure.', unit: 'ms' },
      ),
      timeseries(
        'Delivered messages per second',
        [
          influx('A', `SELECT ${PER_SECOND} FROM "rtb_messages" WHERE ${f.workload} ${byTime('run')}`, {
            alias: 'messages $tag_run',
          }),
        ],
        { description: 'rtb_messages per second: delivered and verified by the client.', unit: 'suffix: msg/s' },
      ),
      timeseries(
        'Payload throughput',
        [
          influx('A', `SELECT ${PER_SECOND} FROM "rtb_payload_bytes" WHERE ${f.workload} ${byTime('run')}`, {
            alias: 'payload $tag_run',
          }),
        ],
        { description: 'rtb_payload_bytes per second (application payload, no framing).', unit: 'Bps' },
      ),
      table(
        'Errors by reason',
        [
          influx(
            'A',
            `SELECT sum("value") AS "errors" FROM "rtb_errors" WHERE ${f.workload} ${byTags('run', 'reason')}`,
            { table: true },
          ),
        ],
        {
          description:
            'rtb_errors over the selected range, per run and reason (close code, gRPC status, timeout, incomplete batch).',
          unit: 'short',
        },
      ),
      timeseries(
        'Checks passing',
        [
          influx('A', `SELECT mean("value") FROM "checks" WHERE ${f.workload} ${byTime('check')}`, {
            alias: '$tag_check',
          }),
        ],
        {
          description:
            'Share of each check that passed in each interval. Checks verify content (digests, echoes, sequences), not only that a reply came.',
          unit: 'percentunit',
        },
      ),
      timeseries('Active VUs', [influx('A', vusAcrossRunners(f.run, 'run'), { alias: 'VUs $tag_run' })], {
        description:
          "k6's `vus` for the whole run (the monitor's one VU included), summed over the runners of a split run (instance_id); k6 does not tag it with the scenario.",
        unit: 'short',
      }),
      timeseries(
        'Iterations per second',
        [
          influx('A', `SELECT ${PER_SECOND} FROM "iterations" WHERE ${f.workload} ${byTime('run')}`, {
            alias: 'iterations $tag_run',
          }),
        ],
        {
          description:
            "k6's `iterations` of this scenario per second (the monitor's single iteration is another scenario and is never counted).",
          unit: 'suffix: it/s',
        },
      ),
      timeseries(
        'Connect time',
        [
          influx(
            'A',
            `SELECT percentile("value", 50) AS "p50", percentile("value", 95) AS "p95" FROM "rtb_connect_time" WHERE ${f.workload} ${byTime('run')}`,
            { alias: '$col $tag_run' },
          ),
        ],
        { description: 'rtb_connect_time p50 and p95: until the connection is usable.', unit: 'ms' },
      ),
      timeseries(
        'Batch time',
        [
          influx(
            'A',
            `SELECT percentile("value", 50) AS "p50", percentile("value", 95) AS "p95" FROM "rtb_batch_time" WHERE ${f.workload} ${byTime('run')}`,
            { alias: '$col $tag_run' },
          ),
        ],
        {
          description:
            "rtb_batch_time p50 and p95: one iteration's whole workload (e.g. all N images), first send → last reply. Scenarios without batches leave it empty.",
          unit: 'ms',
        },
      ),
      timeseries(
        'Bytes on the wire per second',
        [
          influx('A', `SELECT ${PER_SECOND} FROM "data_sent" WHERE ${f.wire} ${byTime('run')}`, {
            alias: 'sent $tag_run',
          }),
          influx('B', `SELECT ${PER_SECOND} FROM "data_received" WHERE ${f.wire} ${byTime('run')}`, {
            alias: 'received $tag_run',
          }),
        ],
        {
          description:
            "k6's data_sent and data_received of the workload (all bytes on its sockets; k6 records them when an iteration ends), the monitor's polls left out.",
          unit: 'Bps',
        },
      ),
      bars(
        'Bytes on the wire per message',
        [
          influx('A', `SELECT sum("value") FROM "data_sent" WHERE ${f.wire} ${byTags('run')}`, { hide: true }),
          influx('B', `SELECT sum("value") FROM "data_received" WHERE ${f.wire} ${byTags('run')}`, { hide: true }),
          influx('C', `SELECT sum("value") FROM "rtb_messages" WHERE ${f.workload} ${byTags('run')}`, { hide: true }),
          math('D', '($A + $B) / $C'),
        ],
        { description: '(data_sent + data_received) / rtb_messages over the selected range.', unit: 'decbytes' },
      ),
      row('Server (GET /stats, sampled by the monitor)'),
      timeseries(
        'Server CPU',
        [
          influx('A', `SELECT mean("value") FROM "rtb_server_cpu_percent" WHERE ${f.server} ${byTime('run')}`, {
            alias: 'CPU $tag_run',
          }),
        ],
        {
          description:
            'rtb_server_cpu_percent: server process CPU (user + system) per sampling interval, % of one core.',
          unit: 'percent',
        },
      ),
      bars(
        'Server CPU time per 1,000 messages',
        [
          influx('A', `SELECT sum("value") FROM "rtb_server_cpu_time" WHERE ${f.server} ${byTags('run')}`, {
            hide: true,
          }),
          influx('B', `SELECT sum("value") FROM "rtb_messages" WHERE ${f.workload} ${byTags('run')}`, { hide: true }),
          math('C', '$A / $B * 1000'),
        ],
        {
          description: 'Sum of rtb_server_cpu_time (ms) per 1,000 delivered messages over the selected range.',
          unit: 'ms',
        },
      ),
      timeseries(
        'Server memory',
        [
          influx('A', `SELECT max("value") FROM "rtb_server_rss_bytes" WHERE ${f.server} ${byTime('run')}`, {
            alias: 'RSS $tag_run',
          }),
          influx('B', `SELECT max("value") FROM "rtb_server_heap_bytes" WHERE ${f.server} ${byTime('run')}`, {
            alias: 'heap $tag_run',
          }),
        ],
        { description: 'Resident set size and V8 heap in use of the server process.', unit: 'bytes' },
      ),
      timeseries(
        'Server event-loop lag',
        [
          influx('A', `SELECT max("value") FROM "rtb_server_loop_lag_ms" WHERE ${f.server} ${byTime('stat', 'run')}`, {
            alias: '$tag_stat $tag_run',
          }),
        ],
        {
          description:
            'rtb_server_loop_lag_ms mean, p99 and max over each 1 s window: how late the event loop ran a 10 ms timer.',
          unit: 'ms',
        },
      ),
      timeseries(
        'Server connections',
        [
          influx(
            'A',
            `SELECT max("value") FROM "rtb_server_connections" WHERE ${f.server} ${byTime('protocol', 'run')}`,
            { alias: '$tag_protocol $tag_run' },
          ),
        ],
        { description: 'Open connections per server protocol.', unit: 'short' },
      ),
      timeseries(
        'Server messages per second',
        [
          influx(
            'A',
            `SELECT ${PER_SECOND} FROM "rtb_server_messages" WHERE ${f.server} ${byTime('protocol', 'direction', 'run')}`,
            { alias: '$tag_protocol $tag_direction $tag_run' },
          ),
        ],
        {
          description: 'Messages the server received (in) and sent (out) per second, per server protocol.',
          unit: 'suffix: msg/s',
        },
      ),
      timeseries(
        'Server payload bytes per second',
        [
          influx(
            'A',
            `SELECT ${PER_SECOND} FROM "rtb_server_bytes" WHERE ${f.server} ${byTime('protocol', 'direction', 'run')}`,
            { alias: '$tag_protocol $tag_direction $tag_run' },
          ),
        ],
        {
          description:
            'rtb_server_bytes per second: message payload bytes as the server counts them (WebSocket frame data, protobuf messages), framing not counted; compare with the wire bytes above.',
          unit: 'Bps',
        },
      ),
    ],
  });
