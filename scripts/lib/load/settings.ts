// Parsing of the settings a run takes from `-e NAME=value` and the config file. Pure: no k6
// imports, so node:test can exercise it. Every error names the setting and the bad token.

export class SettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingError';
  }
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** k6 duration ('500ms', '30s', '1m30s', '2h') → milliseconds. */
export function parseDuration(name: string, raw: string): number {
  const text = raw.trim();
  if (!DURATION.test(text))
    throw new SettingError(`${name}: '${raw}' is not a duration (examples: 500ms, 30s, 1m30s, 2h)`);
  let ms = 0;
  for (const m of text.matchAll(DURATION_PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

/** Milliseconds → the shortest k6 duration string that says it exactly. */
export function formatDuration(ms: number): string {
  const whole = Math.round(ms);
  if (whole % 3_600_000 === 0 && whole > 0) return `${whole / 3_600_000}h`;
  if (whole % 60_000 === 0 && whole > 0) return `${whole / 60_000}m`;
  if (whole % 1000 === 0) return `${whole / 1000}s`;
  return `${whole}ms`;
}

export function parseCount(name: string, raw: string | number, { min = 0, max = 1_000_000 } = {}): number {
  const text = String(raw).trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw new SettingError(`${name}: '${raw}' is not a whole number from ${min} to ${max}`);
  return n;
}

export function parseChoice<T extends string>(name: string, raw: string, choices: readonly T[]): T {
  const text = raw.trim();
  if (!(choices as readonly string[]).includes(text))
    throw new SettingError(`${name}: unknown value '${raw}' (one of: ${choices.join(', ')})`);
  return text as T;
}

/** Reads a setting from an env-like record, or returns the fallback when it is unset or empty. */
export function setting<T>(
  env: Record<string, string | undefined>,
  name: string,
  fallback: T,
  parse: (name: string, raw: string) => T,
): T {
  const raw = env[name];
  return raw === undefined || raw === '' ? fallback : parse(name, raw);
}
