// The VU event-loop lag probe (k6/x/measure's startLagProbe): a timer every 100 ms whose
// lateness says whether the VU's event loop was free to take the events it waits for. The
// monitor samples the result into rtb_generator_loop_lag. A probe holds the iteration open until
// stopped, so it runs exactly as long as something that already holds the iteration open: a
// connection or a stream, whose transport stops its hold when that closes (transport/ws.ts,
// sse.ts, grpc.ts). A timer that fell due while the script blocked in calls until the end records nothing.
//
// One probe per VU, shared by every connection the VU holds: it runs while at least one holds it.
// A probe per connection measured the same loop many times over and cost k6, per held connection,
// a goroutine, a Go timer and an event-loop callback every 100 ms (20,000 a second at 2,000 held).
import { startLagProbe } from 'k6/x/measure';

const INTERVAL_MS = 100;

// module state is per VU: each VU has its own JavaScript runtime
let holders = 0;
let stopProbe: (() => void) | null = null;

/** Holds this VU's probe (starting it if none runs); call the result (idempotent) when the connection closes. */
export function lagProbe(): () => void {
  holdLagProbe();
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    releaseLagProbe();
  };
}

/**
 * Holds this VU's probe without a stop function, for a caller that knows itself when it holds it
 * and calls releaseLagProbe exactly once (held-socket.ts): a stop function per held connection is
 * one more closure, k6 memory for as long as the connection is held.
 */
export function holdLagProbe(): void {
  if (holders++ === 0) stopProbe = startLagProbe(INTERVAL_MS);
}

/** Lets go of a hold taken with holdLagProbe; the probe stops when nothing holds it. */
export function releaseLagProbe(): void {
  if (--holders === 0) {
    stopProbe?.();
    stopProbe = null;
  }
}
