// The echo workload, whatever carries it: on one connection, send a payload, wait for the
// same payload back, send the next, for a fixed window; count the round trips. Each iteration is
// one client's window, so a multi-VU run gives round trips per client (rtb_round_trips).
//   -e WINDOW=5s          how long the client keeps sending (a round trip counts if it was sent
//                         inside the window; the last echoes are awaited after it)
//   -e PAYLOAD_BYTES=N    N bytes of binary; unset or 0: the text 'hi', as in the seed
//   -e MODE=sequential    one message in flight (the seed's measure)
//   -e MODE=pipelined     DEPTH messages in flight (-e DEPTH=10); echoes come back in order
//   -e TIMEOUT=10s        how long after the window the outstanding echoes may take
import { check } from 'k6';
import { sha256 } from 'k6/crypto';
import { now } from '../monitor/clock.ts';
import { envCount, envDuration, envPipeline } from '../load/env.ts';
import { batchTime, delivered, errors, latency, payloadBytes, roundTrips } from '../monitor/metrics.ts';
import { deadline } from '../transport/ws.ts';
import { patternBytes } from '../../../contracts/payload.ts';
import type { Thresholds } from '../load/config.ts';

export const echo = {
  windowMs: envDuration('WINDOW', '5s'),
  payloadBytes: envCount('PAYLOAD_BYTES', 0, { min: 0, max: 256 * 1024 * 1024 }),
  ...envPipeline(),
  timeoutMs: envDuration('TIMEOUT', '10s'),
};

export type Payload = string | ArrayBuffer;

/** Binary payloads are 'abc…xyz' repeated (payload.ts), so a shifted or truncated echo cannot match. */
export const PAYLOAD: Payload = echo.payloadBytes > 0 ? patternBytes(echo.payloadBytes) : 'hi';
const PAYLOAD_SIZE = echo.payloadBytes > 0 ? echo.payloadBytes : 2;

// Binary echoes are compared by size and SHA-256, computed natively by k6: a byte loop in the
// script would cost more than the round trip it checks.
const PAYLOAD_SHA256 = typeof PAYLOAD === 'string' ? '' : sha256(PAYLOAD, 'hex');

function sameAsPayload(data: unknown): boolean {
  if (typeof PAYLOAD === 'string') return data === PAYLOAD;
  return (
    data instanceof ArrayBuffer && data.byteLength === PAYLOAD.byteLength && sha256(data, 'hex') === PAYLOAD_SHA256
  );
}

/** The tags and SLO thresholds every echo scenario starts from. */
export function echoScenario(protocol: string) {
  const thresholds: Thresholds = {
    checks: ['rate==1'],
    rtb_latency: ['p(95)<1000'],
  };
  const payload = typeof PAYLOAD === 'string' ? 'text-hi' : `binary-${PAYLOAD_SIZE}`;
  return { tags: { protocol, pattern: 'echo', payload, mode: echo.mode, measure: 'rtt' }, thresholds };
}

/**
 * One client's echo window. The scenario opens the connection and calls `start(atMs)` from the
 * event that made it usable, `echoed(data, atMs)` for every echo with the timestamp of the frame
 * that completed it, and `finish(reason)` if the connection ends early. Echoes must come back in
 * the order sent (one connection, and each server answers a message as soon as it has read it).
 * Records per round trip rtb_latency (send → echo), rtb_messages and rtb_payload_bytes for each
 * verified echo; per window rtb_round_trips and rtb_batch_time (first send → last echo).
 *
 * The send time is k6/x/measure's now() right before the send: monotonic, sub-microsecond and
 * on the same scale as the event timestamps the echoes come back with (never taken as earlier
 * than the timestamp of the event whose handler sends).
 */
export class EchoWindow {
  private readonly inFlight: number[] = []; // send times, oldest first
  private readonly depth = echo.depth;
  private readonly cancelDeadline: () => void;
  private windowEnd = 0;
  private firstSend = 0;
  private lastEcho = 0;
  private trips = 0;
  private finished = false;

  /** `send` puts one payload on the wire; `onFinished` closes the connection. */
  constructor(
    private readonly send: (payload: Payload) => void,
    private readonly onFinished: () => void,
  ) {
    this.cancelDeadline = deadline(echo.windowMs + echo.timeoutMs, () => this.finish('timeout'));
  }

  start(atMs: number): void {
    this.firstSend = Math.max(now(), atMs);
    this.windowEnd = this.firstSend + echo.windowMs;
    this.fill(atMs);
  }

  echoed(data: unknown, atMs: number): void {
    if (this.finished) return;
    const sentAt = this.inFlight.shift();
    const ok = check(data, {
      'echo answers a message we sent': () => sentAt !== undefined,
      'echo equals what was sent': sameAsPayload,
    });
    if (sentAt !== undefined) latency.add(atMs - sentAt);
    if (ok) {
      delivered.add(1);
      payloadBytes.add(PAYLOAD_SIZE);
      this.trips++;
    }
    this.lastEcho = atMs;
    this.fill(atMs);
  }

  /** Ends the window; without a reason it ended as planned (window over, every echo back). */
  finish(reason?: string): void {
    if (this.finished) return;
    this.finished = true;
    this.cancelDeadline();
    const complete = reason === undefined;
    check(null, { 'echo window completed': () => complete });
    if (!complete) errors.add(1, { reason });
    roundTrips.add(this.trips);
    if (this.trips > 0) batchTime.add(this.lastEcho - this.firstSend);
    this.onFinished();
  }

  /** Sends until `depth` messages are in flight, while the window lasts; `eventMs`: see the class comment. */
  private fill(eventMs: number): void {
    while (this.inFlight.length < this.depth && now() < this.windowEnd) {
      this.inFlight.push(Math.max(now(), eventMs));
      this.send(PAYLOAD);
    }
    if (this.inFlight.length === 0) this.finish();
  }
}
