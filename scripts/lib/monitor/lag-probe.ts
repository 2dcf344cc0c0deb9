// The VU event-loop lag probe (k6/x/measure's startLagProbe): a timer every 100 ms whose
// lateness says whether the VU's event loop was free to take the events it waits for. The
// monitor samples the result into rtb_generator_loop_lag. A probe holds the iteration open until
// stopped, so it runs exactly as long as something that already holds the iteration open: a
// connection or a stream, whose transport stops it when that closes (transport/ws.ts, sse.ts,
// grpc.ts). A timer that fell due while the script blocked in calls until the end records nothing.
import { startLagProbe } from 'k6/x/measure';

const INTERVAL_MS = 100;

/** Starts a probe on this VU's loop; call the result (idempotent) when the connection closes. */
export const lagProbe = (): (() => void) => startLagProbe(INTERVAL_MS);
