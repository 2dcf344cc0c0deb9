// "rtbench — protocol comparison": every protocol of one run (testid) side by side, client view
// on top (what k6 saw), server cost below (what GET /stats said, sampled by the monitor). Series
// are per protocol and run (npm start tags each comparison entry with run=<entry>).
import { bars, dashboard, influx, math, row, table, timeseries, variable } from './grafana.ts';
import { PER_SECOND, byTags, byTime, filters, vusAcrossRunners } from './queries.ts';

const f = filters(true);
const series = ['protocol', 'run'];
const alias = '$tag_protocol $tag_run';

export const comparison = () =>
  dashboard({
    uid: 'rtbench-comparison',
    title: 'rtbench — protocol comparison',
    description:
      'Protocols side by side on matched workloads: per-message latency, throughput, errors, connection cost, bytes on the wire and what the server spent.',
    variables: [
      variable('testid', 'Test run', 'SHOW TAG VALUES FROM /^(vus|rtb_messages|rtb_errors)$/ WITH KEY = "testid"', {
        newestFirst: true,
      }),
      variable(
        'scenario',
        'Scenario',
        'SHOW TAG VALUES FROM /^rtb_(messages|errors)$/ WITH KEY = "scenario" WHERE "testid" =~ /^$testid$/',
        { all: true },
      ),
      variable(
        'protocol',
        'Protocol',
        'SHOW TAG VALUES FROM /^rtb_(messages|errors)$/ WITH KEY = "protocol" WHERE "testid" =~ /^$testid$/ AND "scenario" =~ /^$scenario$/',
        { all: true },
      ),
    ],
    links: [
      {
        type: 'link',
        title: 'Scenario drill-down',
        url: '/d/rtbench-scenario',
        includeVars: true,
        keepTime: true,
        icon: 'dashboard',
      },
    ],
    panels: [
      row('What the client saw (k6)'),
      table(
        'Latency per message, whole range',
        [
          influx(
            'A',
            `SELECT percentile("value", 50) AS "p50", percentile("value", 95) AS "p95", percentile("value", 99) AS "p99", max("value") AS "max", count("value") AS "messages" FROM "rtb_latency" WHERE ${f.workload} ${byTags(...series, 'measure')}`,
            { table: true },
          ),
        ],
        {
          description:
            'rtb_latency percentiles (ms) over the selected time range. `measure` says how the latency was taken: rtt = client send → reply read (k6 event timestamp where the protocol gives one), oneway = server send stamp → client read on one clock.',
          unit: 'ms',
          w: 24,
          h: 7,
        },
      ),
      timeseries(
        'Latency p95 per message',
        [
          influx('A', `SELECT percentile("value", 95) FROM "rtb_latency" WHERE ${f.workload} ${byTime(...series)}`, {
            alias,
          }),
        ],
        { description: '95th percentile of rtb_latency in each interval, per protocol and run.', unit: 'ms' },
      ),
      timeseries(
        'Latency p50 per message',
        [
          influx('A', `SELECT percentile("value", 50) FROM "rtb_latency" WHERE ${f.workload} ${byTime(...series)}`, {
            alias,
          }),
        ],
        { description: 'Median of rtb_latency in each interval, per protocol and run.', unit: 'ms' },
      ),
      timeseries(
        'Delivered messages per second',
        [influx('A', `SELECT ${PER_SECOND} FROM "rtb_messages" WHERE ${f.workload} ${byTime(...series)}`, { alias })],
        {
          description:
            'rtb_messages: messages delivered and verified by the client (digest, echo or sequence checked), per second.',
          unit: 'suffix: msg/s',
        },
      ),
      timeseries(
        'Payload throughput',
        [
          influx('A', `SELECT ${PER_SECOND} FROM "rtb_payload_bytes" WHERE ${f.workload} ${byTime(...series)}`, {
            alias,
          }),
        ],
        {
          description:
            'rtb_payload_bytes per second: application payload in the delivered messages, protocol framing not counted.',
          unit: 'Bps',
        },
      ),
      timeseries(
        'Errors per second',
        [
          influx('A', `SELECT ${PER_SECOND} FROM "rtb_errors" WHERE ${f.workload} ${byTime(...series, 'reason')}`, {
            alias: '$tag_protocol $tag_run: $tag_reason',
          }),
        ],
        {
          description: 'rtb_errors per second by reason: WebSocket close code, gRPC status, timeout, incomplete batch.',
          unit: 'suffix: /s',
          bars: true,
        },
      ),
      timeseries('Active VUs', [influx('A', vusAcrossRunners(f.run, 'run'), { alias: 'VUs $tag_run' })], {
        description:
          "k6's `vus`: virtual users active in the run, one run (testid + run) per series, summed over the runners of a split run (instance_id). It counts the server-cost monitor's one VU too. Not filtered by scenario or protocol: k6 tags it with the run's tags only.",
        unit: 'short',
      }),
      timeseries(
        'Connect time p95',
        [
          influx(
            'A',
            `SELECT percentile("value", 95) FROM "rtb_connect_time" WHERE ${f.workload} ${byTime(...series)}`,
            { alias },
          ),
        ],
        {
          description:
            'rtb_connect_time, 95th percentile: TCP + handshake until the connection is usable (WebSocket open event, gRPC connect, first SSE/Socket.IO event where that is the usable moment).',
          unit: 'ms',
        },
      ),
      bars(
        'Bytes on the wire per message',
        [
          influx('A', `SELECT sum("value") FROM "data_sent" WHERE ${f.wire} ${byTags(...series)}`, { hide: true }),
          influx('B', `SELECT sum("value") FROM "data_received" WHERE ${f.wire} ${byTags(...series)}`, { hide: true }),
          influx('C', `SELECT sum("value") FROM "rtb_messages" WHERE ${f.workload} ${byTags(...series)}`, {
            hide: true,
          }),
          math('D', '($A + $B) / $C'),
        ],
        {
          description:
            "k6's data_sent + data_received of the workload (every byte its connections wrote and read: handshakes, headers, framing; the monitor's polls left out) divided by rtb_messages, over the selected range.",
          unit: 'decbytes',
        },
      ),
      row('What it cost the server (GET /stats, sampled by the monitor)'),
      timeseries(
        'Server CPU',
        [
          influx('A', `SELECT mean("value") FROM "rtb_server_cpu_percent" WHERE ${f.server} ${byTime(...series)}`, {
            alias,
          }),
        ],
        {
          description:
            'rtb_server_cpu_percent: CPU time (user + system) the server process used per sampling interval, as % of one core. One process hosts every protocol; the series is tagged with the protocol of the workload running then.',
          unit: 'percent',
        },
      ),
      bars(
        'Server CPU time per 1,000 messages',
        [
          influx('A', `SELECT sum("value") FROM "rtb_server_cpu_time" WHERE ${f.server} ${byTags(...series)}`, {
            hide: true,
          }),
          influx('B', `SELECT sum("value") FROM "rtb_messages" WHERE ${f.workload} ${byTags(...series)}`, {
            hide: true,
          }),
          math('C', '$A / $B * 1000'),
        ],
        {
          description:
            'Server CPU ms (rtb_server_cpu_time: the monitor sums cumulative CPU-counter deltas) per 1,000 delivered messages, over the selected range. The comparison table takes the same from /stats read just before and after each run.',
          unit: 'ms',
        },
      ),
      timeseries(
        'Server memory',
        [
          influx('A', `SELECT max("value") FROM "rtb_server_rss_bytes" WHERE ${f.server} ${byTime(...series)}`, {
            alias: 'RSS $tag_protocol $tag_run',
          }),
          influx('B', `SELECT max("value") FROM "rtb_server_heap_bytes" WHERE ${f.server} ${byTime(...series)}`, {
            alias: 'heap $tag_protocol $tag_run',
          }),
        ],
        {
          description:
            'rtb_server_rss_bytes (resident set) and rtb_server_heap_bytes (V8 heap in use) of the server process.',
          unit: 'bytes',
        },
      ),
      timeseries(
        'Server event-loop lag',
        [
          influx(
            'A',
            `SELECT max("value") FROM "rtb_server_loop_lag_ms" WHERE ${f.server} AND "stat" = 'p99' ${byTime(...series)}`,
            { alias: 'p99 $tag_protocol $tag_run' },
          ),
          influx(
            'B',
            `SELECT max("value") FROM "rtb_server_loop_lag_ms" WHERE ${f.server} AND "stat" = 'max' ${byTime(...series)}`,
            { alias: 'max $tag_protocol $tag_run' },
          ),
        ],
        {
          description:
            "rtb_server_loop_lag_ms: how late the server's event loop ran a 10 ms timer, p99 and max over each 1 s window. High lag delays every connection on the process.",
          unit: 'ms',
        },
      ),
      timeseries(
        'Server connections',
        [
          influx('A', `SELECT max("value") FROM "rtb_server_connections" WHERE ${f.server} ${byTime(...series)}`, {
            alias,
          }),
        ],
        {
          description:
            'rtb_server_connections: connections the server holds open, per server protocol (gRPC: HTTP/2 connections, from grpc-js channelz).',
          unit: 'short',
        },
      ),
      timeseries(
        'Server messages per second',
        [
          influx(
            'A',
            `SELECT ${PER_SECOND} FROM "rtb_server_messages" WHERE ${f.server} ${byTime(...series, 'direction')}`,
            { alias: '$tag_protocol $tag_direction $tag_run' },
          ),
        ],
        {
          description:
            'rtb_server_messages: messages the server received (in) and sent (out) per second, per server protocol, as its message layer counts them (WebSocket frames, protobuf messages, SSE events, Socket.IO packets).',
          unit: 'suffix: msg/s',
        },
      ),
    ],
  });
