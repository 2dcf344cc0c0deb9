// rtbench.config.json: per-scenario load and thresholds, read at k6 init so a run changes
// without a rebuild. Shape:
//   { "defaults":  { "profile": "compare", "model": "closed", ... },
//     "scenarios": { "ws-image": { "profile": "smoke", "stages": "30s:10,1m:50,30s:0",
//                                  "vus": 5, "rate": 5, "duration": "1m", "maxVUs": 100,
//                                  "iterations": 1, "thresholds": { "rtb_latency": ["p(95)<500"] } } } }
// `stages` may also be a list of {"duration","target"}. Unknown keys are errors, so a typo is
// never silently ignored. The load keys and their limits: LOAD_SETTINGS (profiles.ts). Pure: no k6 imports.
import { SettingError } from './settings.ts';
import { LOAD_SETTING_KEYS, readLoadSetting, type LoadSettings } from './profiles.ts';

export type Thresholds = Record<string, string[]>;

export interface ScenarioSettings extends LoadSettings {
  thresholds?: Thresholds;
}

export interface RtbenchConfig {
  defaults: ScenarioSettings;
  scenarios: Record<string, ScenarioSettings>;
}

const SCENARIO_KEYS: string[] = [...LOAD_SETTING_KEYS, 'thresholds'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseThresholds(where: string, raw: unknown): Thresholds {
  if (!isObject(raw)) throw new SettingError(`${where}: expected an object of metric → ["expression", …]`);
  const out: Thresholds = {};
  for (const [metric, exprs] of Object.entries(raw)) {
    const list = typeof exprs === 'string' ? [exprs] : exprs;
    if (!Array.isArray(list) || list.some((e) => typeof e !== 'string' || e.trim() === '')) {
      throw new SettingError(
        `${where}.${metric}: expected a list of threshold expressions like "p(95)<500", got ${JSON.stringify(exprs)}`,
      );
    }
    out[metric] = list as string[];
  }
  return out;
}

export function parseScenarioSettings(where: string, raw: unknown): ScenarioSettings {
  if (!isObject(raw)) throw new SettingError(`${where}: expected an object`);
  const s: ScenarioSettings = {};
  for (const [key, value] of Object.entries(raw)) {
    const at = `${where}.${key}`;
    if (key === 'thresholds') s.thresholds = parseThresholds(at, value);
    else if ((LOAD_SETTING_KEYS as string[]).includes(key)) readLoadSetting(s, key as keyof LoadSettings, at, value);
    else throw new SettingError(`${at}: unknown setting '${key}' (known: ${SCENARIO_KEYS.join(', ')})`);
  }
  return s;
}

/** Validates a parsed config file. `source` names the file in errors. */
export function parseConfig(source: string, raw: unknown): RtbenchConfig {
  if (!isObject(raw)) throw new SettingError(`${source}: expected a JSON object with "defaults" and/or "scenarios"`);
  for (const key of Object.keys(raw)) {
    // "networks" holds custom network shapes; the harness reads them (tools/network.mjs), k6 does not.
    if (key !== 'defaults' && key !== 'scenarios' && key !== 'networks' && key !== '$comment')
      throw new SettingError(`${source}: unknown top-level key '${key}' (known: defaults, scenarios, networks)`);
  }
  const defaults = raw.defaults === undefined ? {} : parseScenarioSettings(`${source}: defaults`, raw.defaults);
  const scenarios: Record<string, ScenarioSettings> = {};
  if (raw.scenarios !== undefined) {
    if (!isObject(raw.scenarios)) throw new SettingError(`${source}: "scenarios" must map scenario names to settings`);
    for (const [name, value] of Object.entries(raw.scenarios))
      scenarios[name] = parseScenarioSettings(`${source}: scenarios.${name}`, value);
  }
  return { defaults, scenarios };
}

/**
 * Layers settings, later wins; thresholds merge per metric. A layer that names a profile drops
 * explicit stages from earlier layers, so `-e PROFILE=stress` means the stress shape even when
 * the config file gave stages.
 */
export function mergeSettings(...layers: ScenarioSettings[]): ScenarioSettings {
  const out: ScenarioSettings = {};
  for (const layer of layers) {
    if (layer.profile !== undefined) delete out.stages;
    const { thresholds, ...load } = layer;
    Object.assign(out, load);
    if (thresholds) out.thresholds = { ...(out.thresholds ?? {}), ...thresholds };
  }
  return out;
}
