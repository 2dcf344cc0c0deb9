// Named load profiles and how a run's load is resolved from them.
//
// A profile is a shape: stage levels from 0 to 1 of a peak, with a default peak for the closed
// model (VUs, `ramping-vus`) and for the open model (iterations per second,
// `ramping-arrival-rate`, so a slow server cannot quietly slow the load down). A run picks a
// profile and may override, in order of precedence (later wins):
//   the scenario's own defaults < rtbench.config.json "defaults" < its "scenarios"[name] < -e env
// with: PROFILE, MODEL (closed|open), STAGES (absolute targets, e.g. 30s:10,1m:50,30s:0),
// VUS / RATE (the peak), DURATION (total length; stages scale to fit), MAX_VUS (open model cap),
// ITERATIONS (run exactly that many iterations shared by VUS VUs instead of a profile: seed
// 000's single batch is ITERATIONS=1).
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
  smoke: { description: '1 VU (or 1 iteration/s) for 10 s: does it work at all', start: 1, shape: [['10s', 1]], vus: 1, rate: 1 },
  compare: { description: 'short steady plateau for side-by-side runs: ramp 5 s, hold 20 s, ramp down 5 s', start: 0, shape: [['5s', 1], ['20s', 1], ['5s', 0]], vus: 2, rate: 2 },
  load: { description: 'expected load: ramp 30 s, hold 2 m, ramp down 30 s', start: 0, shape: [['30s', 1], ['2m', 1], ['30s', 0]], vus: 10, rate: 10 },
  stress: { description: 'beyond expected load in two steps (40%, then 100%)', start: 0, shape: [['1m', 0.4], ['2m', 0.4], ['1m', 1], ['2m', 1], ['1m', 0]], vus: 50, rate: 50 },
  spike: { description: 'a sudden jump from 4% to 100% of the peak and back', start: 0, shape: [['10s', 0.04], ['20s', 0.04], ['10s', 1], ['30s', 1], ['10s', 0.04], ['20s', 0.04], ['10s', 0]], vus: 50, rate: 50 },
  soak: { description: 'expected load held for 30 minutes', start: 0, shape: [['2m', 1], ['30m', 1], ['2m', 0]], vus: 10, rate: 10 },
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
  | { executor: 'ramping-arrival-rate'; startRate: number; timeUnit: '1s'; preAllocatedVUs: number; maxVUs: number; stages: Stage[] };

/** Parses '30s:10,1m:50,30s:0' into stages. */
export function parseStages(name: string, raw: string): Stage[] {
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.every((p) => p === '')) throw new SettingError(`${name}: no stages given (expected e.g. 30s:10,1m:50,30s:0)`);
  return parts.map((part) => {
    const m = /^([^:]+):([^:]+)$/.exec(part);
    if (!m) throw new SettingError(`${name}: bad stage '${part}' (expected <duration>:<target>, e.g. 30s:10)`);
    parseDuration(`${name}: stage '${part}'`, m[1]!);
    const target = parseCount(`${name}: stage '${part}' target`, m[2]!, { min: 0, max: 100_000 });
    return { duration: m[1]!.trim(), target };
  });
}

export function parseProfile(name: string, raw: string): ProfileName {
  return parseChoice(name, raw, PROFILE_NAMES);
}

export function parseModel(name: string, raw: string): Model {
  return parseChoice(name, raw, MODELS);
}

/** Reads the load overrides a run sets with -e. */
export function loadSettingsFromEnv(env: Record<string, string | undefined>): LoadSettings {
  const s: LoadSettings = {};
  const get = (k: string) => (env[k] === undefined || env[k] === '' ? undefined : env[k]);
  if (get('PROFILE')) s.profile = parseProfile('PROFILE', get('PROFILE')!);
  if (get('MODEL')) s.model = parseModel('MODEL', get('MODEL')!);
  if (get('STAGES')) s.stages = parseStages('STAGES', get('STAGES')!);
  if (get('VUS')) s.vus = parseCount('VUS', get('VUS')!, { min: 1, max: 100_000 });
  if (get('RATE')) s.rate = parseCount('RATE', get('RATE')!, { min: 1, max: 1_000_000 });
  if (get('DURATION')) s.duration = formatDuration(positiveDuration('DURATION', get('DURATION')!));
  if (get('MAX_VUS')) s.maxVUs = parseCount('MAX_VUS', get('MAX_VUS')!, { min: 1, max: 100_000 });
  if (get('ITERATIONS')) s.iterations = parseCount('ITERATIONS', get('ITERATIONS')!, { min: 1, max: 10_000_000 });
  return s;
}

function positiveDuration(name: string, raw: string): number {
  const ms = parseDuration(name, raw);
  if (ms <= 0) throw new SettingError(`${name}: '${raw}' must be longer than 0`);
  return ms;
}

/** Turns the merged settings into a k6 executor configuration. */
export function resolveExecutor(settings: LoadSettings): Executor {
  const profileName = settings.profile ?? 'compare';
  const profile: Profile = PROFILES[profileName];
  const model = settings.model ?? 'closed';
  if (settings.iterations !== undefined) {
    if (model === 'open') throw new SettingError(`ITERATIONS: '${settings.iterations}' runs a fixed number of iterations, which the open model (MODEL=open) does not do`);
    const vus = Math.min(settings.vus ?? 1, settings.iterations);
    return { executor: 'shared-iterations', vus, iterations: settings.iterations, maxDuration: settings.duration ?? '10m' };
  }
  const peak = model === 'closed' ? (settings.vus ?? profile.vus) : (settings.rate ?? profile.rate);
  const scale = (level: number) => (level > 0 ? Math.max(1, Math.round(level * peak)) : 0);

  let stages: Stage[] = settings.stages
    ? settings.stages.map((s) => ({ ...s }))
    : profile.shape.map(([duration, level]) => ({ duration, target: scale(level) }));
  if (settings.duration) {
    const total = stages.reduce((sum, s) => sum + parseDuration('stage', s.duration), 0);
    const want = parseDuration('DURATION', settings.duration);
    stages = stages.map((s) => ({ ...s, duration: formatDuration((parseDuration('stage', s.duration) * want) / total) }));
  }
  if (stages.every((s) => s.target === 0)) {
    throw new SettingError(`stages ${stages.map((s) => `${s.duration}:${s.target}`).join(',')} never go above 0: nothing would run`);
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
    preAllocatedVUs: Math.min(maxVUs, Math.max(1, peakTarget)),
    maxVUs,
    stages,
  };
}
