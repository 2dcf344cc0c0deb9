// Seed 004's order workload, shared by the four gRPC call-pattern scenarios
// (rtbench.orders.v1.OrderService): every message carries PAYLOAD_BYTES of padding (`note` /
// `payload`, 'abc…' repeated, the same bytes as the echo payloads), COUNT messages per
// iteration, and the same one-line order so the server's totals can be checked exactly.
//   -e COUNT=100          messages per iteration (calls, streamed orders, uploads, actions)
//   -e PAYLOAD_BYTES=256  padding bytes per message
//   -e TIMEOUT=60s        longest an iteration's calls may take
import { check } from 'k6';
import { b64encode } from 'k6/encoding';
import { envCount, envDuration, envString } from '../load/env.ts';
import { batchTime, delivered, errors, payloadBytes } from '../monitor/metrics.ts';
import { patternBytes } from '../../../contracts/payload.ts';
import type { Thresholds } from '../load/config.ts';

export const GRPC_ADDR = envString('GRPC_ADDR', '127.0.0.1:50051');
export const SERVICE = 'rtbench.orders.v1.OrderService';

export const orders = {
  count: envCount('COUNT', 100, { min: 1, max: 100_000 }),
  payloadBytes: envCount('PAYLOAD_BYTES', 256, { min: 0, max: 4 * 1024 * 1024 }),
  timeoutMs: envDuration('TIMEOUT', '60s'),
};

// k6 carries protobuf `bytes` fields as base64 strings (both ways): encode once, at init, and
// compare what comes back as base64 too.
export const NOTE_B64 = b64encode(patternBytes(orders.payloadBytes));

const ITEMS = [{ productId: 'sku-1', quantity: 2, price: 4.25 }];
/** The total of one order; a multiple of 1/2, so any sum of them is exact in a double. */
export const ORDER_TOTAL = 8.5;

/** What the server answers: protojson, so uint64 fields arrive as strings, bytes as base64. */
export interface Order {
  id: string;
  userId: string;
  total: number;
  status: string;
  seq: string;
  serverSendMs: number;
  note: string;
}

/** Tags and SLO thresholds for a pattern; `measure` says how rtb_latency is taken, if at all. */
export function ordersScenario(pattern: string, measure: 'rtt' | 'oneway' | 'batch', extraTags: Record<string, string> = {}) {
  const thresholds: Thresholds = { checks: ['rate==1'] };
  if (measure !== 'batch') thresholds.rtb_latency = ['p(95)<1000'];
  return { tags: { protocol: 'grpc', pattern, payload: `binary-${orders.payloadBytes}`, measure, ...extraTags }, thresholds };
}

export function orderRequest(seq: number) {
  return { userId: `vu-${__VU}`, items: ITEMS, seq, note: NOTE_B64 };
}

/** Counts `n` verified messages in rtb_messages and their padding in rtb_payload_bytes. */
export function verified(n = 1): void {
  delivered.add(n);
  payloadBytes.add(n * orders.payloadBytes);
}

/**
 * Ends an iteration's batch: checks that all `expected` messages arrived and the call ended OK;
 * records rtb_batch_time (first send → last message) when it did, rtb_errors when it did not.
 */
export function finishBatch(got: number, startedMs: number, lastMs: number, failure?: string): void {
  const complete = failure === undefined && got === orders.count;
  check(null, { 'every message arrived': () => complete });
  if (complete) batchTime.add(lastMs - startedMs);
  else if (failure === undefined) errors.add(1, { reason: 'incomplete' });
}

/** ProcessOrders (bidi): what comes back for each action, as k6's JSON mapping renders it. */
export interface OrderResult {
  orderId: string;
  status: string;
  seq: string;
  payload: string;
}

/** Every 5th action cancels, the rest process; the server answers with the matching status. */
export const actionFor = (seq: number) => (seq % 5 === 0 ? 'cancel' : 'process');
export const STATUS_FOR = { process: 'PROCESSING', cancel: 'CANCELLED' };
