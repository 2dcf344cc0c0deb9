// k6 glue for load settings: builds a scenario's `options` from its defaults, the config file
// and -e overrides. Runs in k6's init context; any bad value throws there, so k6 stops before
// the test starts with a message naming the setting and the token.
import { mergeSettings, parseConfig, type RtbenchConfig, type ScenarioSettings, type Thresholds } from './config.ts';
import { loadSettingsFromEnv, resolveExecutor } from './profiles.ts';
import { SettingError } from './settings.ts';
import { envChoice } from './env.ts';
import { MONITOR_SCENARIO, monitorScenario } from '../monitor/server-stats.ts';

export interface ScenarioDefaults extends ScenarioSettings {
  /** Tags on every sample of the scenario: protocol, pattern, payload, mode. */
  tags: Record<string, string>;
  thresholds: Thresholds;
}

// Relative to the bundled script in dist/, i.e. the repo root's rtbench.config.json.
const DEFAULT_CONFIG = '../rtbench.config.json';

function readConfig(): RtbenchConfig {
  const explicit = __ENV.RTBENCH_CONFIG;
  // k6's open() resolves relative paths against the script; a path the user typed means the
  // directory k6 was started from (PWD reaches __ENV with k6's default system env passthrough).
  const path =
    explicit && !explicit.startsWith('/') && __ENV.PWD ? `${__ENV.PWD}/${explicit}` : explicit || DEFAULT_CONFIG;
  let text: string;
  try {
    text = open(path);
  } catch (err) {
    if (explicit) throw new SettingError(`RTBENCH_CONFIG: cannot read '${explicit}': ${String(err)}`);
    return { defaults: {}, scenarios: {} };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SettingError(`${path}: not valid JSON: ${String(err)}`);
  }
  return parseConfig(path, json);
}

const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count'];

/**
 * The workload's own bytes on the wire (k6 counts every byte its connections sent and received,
 * framing included): an empty threshold makes k6 keep the submetric and put it in the summary
 * export, where the comparison table divides it by rtb_messages. The scenario tag leaves out the
 * monitor's HTTP polls.
 */
const wireBytes = (name: string): Thresholds => ({
  [`data_sent{scenario:${name}}`]: [],
  [`data_received{scenario:${name}}`]: [],
});

/**
 * The k6 options for scenario `name`: one k6 scenario running the default function, with the
 * resolved executor, the scenario's tags and the merged thresholds; beside it, unless
 * -e MONITOR=off, the server-cost monitor (scripts/lib/monitor.ts) for the same planned length.
 */
export function scenarioOptions(name: string, defaults: ScenarioDefaults) {
  const { tags, ...ownDefaults } = defaults;
  const config = readConfig();
  const settings = mergeSettings(
    ownDefaults,
    config.defaults,
    config.scenarios[name] ?? {},
    loadSettingsFromEnv(__ENV),
  );
  const executor = resolveExecutor(settings);
  const monitored = envChoice('MONITOR', 'on', ['on', 'off']) === 'on';
  const monitor = monitored ? monitorScenario(name, executor) : null;
  return {
    scenarios: { [name]: { ...executor, exec: 'default', tags }, ...(monitor ? { [MONITOR_SCENARIO]: monitor } : {}) },
    thresholds: { ...wireBytes(name), ...(settings.thresholds ?? {}) },
    summaryTrendStats: SUMMARY_TREND_STATS,
  };
}
