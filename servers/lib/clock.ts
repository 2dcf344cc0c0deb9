import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';

/** Wall-clock milliseconds since the Unix epoch with sub-millisecond resolution. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
