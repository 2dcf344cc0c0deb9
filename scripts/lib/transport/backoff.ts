// How long a client waits before reconnecting: exponential backoff with full jitter, a random
// time between 0 and min(cap, base × 2^attempt). Without the jitter every client cut at the same
// moment (a reconnect storm) retries at the same moment too, again and again, in lockstep.

/** Delay before reconnect attempt `attempt` (0 for the first), ms. */
export function reconnectDelay(attempt: number, baseMs = 100, capMs = 5000): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** attempt);
}
