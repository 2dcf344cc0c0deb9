// The metrics every scenario reports, whatever the protocol. A protocol, pattern, payload or
// mode is a tag (set once per scenario in its options), never part of a metric name, so one
// Grafana query or report row compares protocols.
import { Counter, Trend } from 'k6/metrics';

/**
 * Per-message latency in ms. How it was taken is the `measure` tag:
 *   rtt     — client send → the client has the reply (WebSocket: the message event's
 *             `timestamp`, taken when k6 read the frame; gRPC: when the response reaches the script)
 *   oneway  — server send stamp → client read, on one host's clock
 */
export const latency = new Trend('rtb_latency', true);

/** Time for a whole batch (e.g. N images): first send → last reply, in ms. */
export const batchTime = new Trend('rtb_batch_time', true);

/** Messages delivered and verified (an image acknowledged with a matching digest, an echo equal to what was sent, …). */
export const delivered = new Counter('rtb_messages');

/** Application payload bytes in those messages (not counting protocol framing). */
export const payloadBytes = new Counter('rtb_payload_bytes');

/** Connection set-up time in ms (TCP + handshake up to the first usable moment). */
export const connectTime = new Trend('rtb_connect_time', true);

/** Protocol-level failures, tagged with `reason` (close code, gRPC status, timeout). */
export const errors = new Counter('rtb_errors');
