// Named load profiles and how a run's load is resolved from them.
//
// A profile is a shape: stage levels from 0 to 1 of a peak, with a default peak for the closed
// model (VUs, `ramping-vus`) and for the open model (iterations per second,
// `ramping-arrival-rate`, so a slow server cannot quietly slow the load down). A run picks a
// profile and may override, in order of precedence (later wins):
//   the scenario's own defaults < rtbench.config.json "defaults" < its "scenarios"[name] < -e env
// with: PROFILE, MODEL (closed|open), STAGES (absolute targets, e.g. 30s:10,1m:50,30s:0),
// VUS / RATE (the peak), DURATION (total length; stages scale to fit), MAX_VUS (open model cap),
// ITERATIONS (run exactly that many iterations shared by VUS VUs instead of a profile: the image
// workload's single batch is ITERATIONS=1). LOAD_SETTINGS below is the one table of these names
// and their limits: the env reader, the config-file reader (config.ts) and their errors use it.
// Pure: no k6 imports, tested with node:test.
import { SettingError, formatDuration, parseChoice, parseCount, parseDuration } from './settings.ts';

export const MODELS = ['closed', 'open'] as const;
export type Model = (typeof MODELS)[number];

export interface Stage {
  duration: string;
  target: number;
}

interface Profile {
  description: string;
  /** [duration, level 0..1 of the peak] */
  shape: Array<[string, number]>;
  /** level the closed model starts at (0..1) */
  start: number;
  vus: number;
  rate: number;
}

export const PROFILES = {
  smoke: {
    description: '1 VU (or 1 iteration/s) for 10 s: does it work at all',
    start: 1,
    shape: [['10s', 1]],
    vus: 1,
    rate: 1,
  },
  compare: {
    description: 'short steady plateau for side-by-side runs: ramp 5 s, hold 20 s, ramp down 5 s',
    start: 0,
    shape: [
      ['5s', 1],
      ['20s', 1],
      ['5s', 0],
    ],
    vus: 2,
    rate: 2,
  },
  load: {
    description: 'expected load: ramp 30 s, hold 2 m, ramp down 30 s',
    start: 0,
    shape: [
      ['30s', 1],
      ['2m', 1],
      ['30s', 0],
    ],
    vus: 10,
    rate: 10,
  },
  stress: {
    description: 'beyond expected load in two steps (40%, then 100%)',
    start: 0,
    shape: [
      ['1m', 0.4],
      ['2m', 0.4],
      ['1m', 1],
      ['2m', 1],
      ['1m', 0],
    ],
    vus: 50,
    rate: 50,
  },
  spike: {
    description: 'a sudden jump from 4% to 100% of the peak and back',
    start: 0,
    shape: [
      ['10s', 0.04],
      ['20s', 0.04],
      ['10s', 1],
      ['30s', 1],
      ['10s', 0.04],
      ['20s', 0.04],
      ['10s', 0],
    ],
    vus: 50,
    rate: 50,
  },
  soak: {
    description: 'expected load held for 30 minutes',
    start: 0,
    shape: [
      ['2m', 1],
      ['30m', 1],
      ['2m', 0],
    ],
    vus: 10,
    rate: 10,
  },
} satisfies Record<string, Profile>;

export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

/** What may be set for a scenario, from the scenario itself, the config file or env. */
export interface LoadSettings {
  profile?: ProfileName;
  model?: Model;
  stages?: Stage[];
  vus?: number;
  rate?: number;
  duration?: string;
  maxVUs?: number;
  iterations?: number;
}

export type Executor =
  | { executor: 'shared-iterations'; vus: number; iterations: number; maxDuration: string }
  | { executor: 'ramping-vus'; startVUs: number; stages: Stage[]; gracefulRampDown: string }
  | {
      executor: 'ramping-arrival-rate';
      startRate: number;
      timeUnit: '1s';
      preAllocatedVUs: number;
      maxVUs: number;
      stages: Stage[];
    };

/** Highest stage target (VUs, or iterations/s in the open model). */
const MAX_TARGET = 100_000;

/** Parses '30s:10,1m:50,30s:0' into stages. */
export function parseStages(name: string, raw: string): Stage[] {
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.every((p) => p === ''))
    throw new SettingError(`${name}: no stages given (expected e.g. 30s:10,1m:50,30s:0)`);
  return parts.map((part) => {
    const m = /^([^:]+):([^:]+)$/.exec(part);
    if (!m) throw new SettingError(`${name}: bad stage '${part}' (expected <duration>:<target>, e.g. 30s:10)`);
    parseDuration(`${name}: stage '${part}'`, m[1]!);
    const target = parseCount(`${name}: stage '${part}' target`, m[2]!, { min: 0, max: MAX_TARGET });
    return { duration: m[1]!.trim(), target };
  });
}

export function parseProfile(name: string, raw: string): ProfileName {
  return parseChoice(name, raw, PROFILE_NAMES);
}

export function parseModel(name: string, raw: string): Model {
  return parseChoice(name, raw, MODELS);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Stages as '30s:10,1m:50' (env or config) or, in the config file, a list of {"duration","target"}. */
function parseStageList(where: string, raw: unknown): Stage[] {
  if (typeof raw === 'string') return parseStages(where, raw);
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new SettingError(`${where}: expected "30s:10,1m:50" or a non-empty list of {"duration","target"}`);
  }
  return raw.map((s, i) => {
    if (!isObject(s) || typeof s.duration !== 'string') {
      throw new SettingError(`${where}[${i}]: expected {"duration": "30s", "target": 10}, got ${JSON.stringify(s)}`);
    }
    parseDuration(`${where}[${i}].duration`, s.duration);
    return {
      duration: s.duration,
      target: parseCount(`${where}[${i}].target`, s.target as number, { min: 0, max: MAX_TARGET }),
    };
  });
}

function positiveDuration(name: string, raw: string): number {
  const ms = parseDuration(name, raw);
  if (ms <= 0) throw new SettingError(`${name}: '${raw}' must be longer than 0`);
  return ms;
}

const count =
  (min: number, max: number) =>
  (name: string, raw: unknown): number =>
    parseCount(name, raw as number, { min, max });

type Reader<T> = { env: string; read: (name: string, raw: unknown) => T };

/**
 * Every load setting once: its key in rtbench.config.json, its -e variable, and how a value is
 * read and bounded. `name` in a reader is what its errors call the setting.
 */
export const LOAD_SETTINGS: { [K in keyof LoadSettings]-?: Reader<NonNullable<LoadSettings[K]>> } = {
  profile: { env: 'PROFILE', read: (name, raw) => parseProfile(name, String(raw)) },
  model: { env: 'MODEL', read: (name, raw) => parseModel(name, String(raw)) },
  stages: { env: 'STAGES', read: parseStageList },
  vus: { env: 'VUS', read: count(1, 100_000) },
  rate: { env: 'RATE', read: count(1, 1_000_000) },
  duration: { env: 'DURATION', read: (name, raw) => formatDuration(positiveDuration(name, String(raw))) },
  maxVUs: { env: 'MAX_VUS', read: count(1, 100_000) },
  iterations: { env: 'ITERATIONS', read: count(1, 10_000_000) },
};

export const LOAD_SETTING_KEYS = Object.keys(LOAD_SETTINGS) as Array<keyof LoadSettings>;

/** Reads setting `key` into `into`; errors name it `name`. */
export function readLoadSetting(into: LoadSettings, key: keyof LoadSettings, name: string, raw: unknown): void {
  (into as Record<string, unknown>)[key] = LOAD_SETTINGS[key].read(name, raw);
}

/** Reads the load overrides a run sets with -e. */
export function loadSettingsFromEnv(env: Record<string, string | undefined>): LoadSettings {
  const s: LoadSettings = {};
  for (const key of LOAD_SETTING_KEYS) {
    const { env: name } = LOAD_SETTINGS[key];
    const raw = env[name];
    if (raw !== undefined && raw !== '') readLoadSetting(s, key, name, raw);
  }
  return s;
}

/** Turns the merged settings into a k6 executor configuration. */
export function resolveExecutor(settings: LoadSettings): Executor {
  const profileName = settings.profile ?? 'compare';
  const profile: Profile = PROFILES[profileName];
  const model = settings.model ?? 'closed';
  if (settings.iterations !== undefined) {
    if (model === 'open')
      throw new SettingError(
        `ITERATIONS: '${settings.iterations}' runs a fixed number of iterations, which the open model (MODEL=open) does not do`,
      );
    const vus = Math.min(settings.vus ?? 1, settings.iterations);
    return {
      executor: 'shared-iterations',
      vus,
      iterations: settings.iterations,
      maxDuration: settings.duration ?? '10m',
    };
  }
  const peak = model === 'closed' ? (settings.vus ?? profile.vus) : (settings.rate ?? profile.rate);
  const scale = (level: number) => (level > 0 ? Math.max(1, Math.round(level * peak)) : 0);

  let stages: Stage[] = settings.stages
    ? settings.stages.map((s) => ({ ...s }))
    : profile.shape.map(([duration, level]) => ({ duration, target: scale(level) }));
  if (settings.duration) {
    const total = stages.reduce((sum, s) => sum + parseDuration('stage', s.duration), 0);
    const want = parseDuration('DURATION', settings.duration);
    stages = stages.map((s) => ({
      ...s,
      duration: formatDuration((parseDuration('stage', s.duration) * want) / total),
    }));
  }
  if (stages.every((s) => s.target === 0)) {
    throw new SettingError(
      `stages ${stages.map((s) => `${s.duration}:${s.target}`).join(',')} never go above 0: nothing would run`,
    );
  }
  const peakTarget = Math.max(...stages.map((s) => s.target));
  if (model === 'closed') {
    const startVUs = settings.stages ? 0 : scale(profile.start);
    return { executor: 'ramping-vus', startVUs, stages, gracefulRampDown: '10s' };
  }
  const maxVUs = settings.maxVUs ?? Math.max(10, 4 * peakTarget);
  return {
    executor: 'ramping-arrival-rate',
    startRate: settings.stages ? 0 : Math.round(profile.start * peakTarget),
    timeUnit: '1s',
    // VUS in the open model: the VUs allocated up front (default: one per iteration/s at the peak)
    preAllocatedVUs: Math.min(maxVUs, settings.vus ?? Math.max(1, peakTarget)),
    maxVUs,
    stages,
  };
}
