// Scenario settings from -e, parsed once at init; errors name the variable and the bad value.
import { parseChoice, parseCount, parseDuration, setting } from './settings.ts';

export function envString(name: string, fallback: string): string {
  return setting(__ENV, name, fallback, (_n, raw) => raw);
}

export function envCount(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  return setting(__ENV, name, fallback, (n, raw) => parseCount(n, raw, range));
}

export function envChoice<T extends string>(name: string, fallback: T, choices: readonly T[]): T {
  return setting(__ENV, name, fallback, (n, raw) => parseChoice(n, raw, choices));
}

/** A duration setting in milliseconds. */
export function envDuration(name: string, fallback: string): number {
  return parseDuration(name, envString(name, fallback));
}

export const PIPELINE_MODES = ['sequential', 'pipelined'] as const;
export type PipelineMode = (typeof PIPELINE_MODES)[number];

/**
 * How many messages a client keeps in flight on one connection (echo, the bidi order stream):
 * MODE=sequential one; MODE=pipelined DEPTH (default 10).
 */
export function envPipeline(): { mode: PipelineMode; depth: number } {
  const mode = envChoice<PipelineMode>('MODE', 'sequential', PIPELINE_MODES);
  const depth = envCount('DEPTH', 10, { min: 1, max: 10_000 });
  return { mode, depth: mode === 'sequential' ? 1 : depth };
}
