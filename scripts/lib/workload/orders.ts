// The orders workload (rtbench.orders.v1.OrderService), shared by the four gRPC call-pattern
// scenarios and grpc-over-ws: every message carries PAYLOAD_BYTES of padding (`note` /
// `payload`, 'abc…' repeated, the same bytes as the echo payloads), COUNT messages per
// iteration, and the same one-line order so the server's totals can be checked exactly.
// The checks of a CreateOrder answer (orderAnswers) and the bidi ProcessOrders pipeline
// (OrderPipeline) take their transport as callbacks, so direct gRPC and gRPC over WebSocket run
// the same workload code.
//   -e COUNT=100          messages per iteration (calls, streamed orders, uploads, actions)
//   -e PAYLOAD_BYTES=256  padding bytes per message
//   -e TIMEOUT=60s        longest an iteration's calls may take
import { check } from 'k6';
import { b64encode } from 'k6/encoding';
import { now } from '../monitor/clock.ts';
import { envCount, envDuration } from '../load/env.ts';
import { batchTime, delivered, errors, latency, payloadBytes } from '../monitor/metrics.ts';
import { patternBytes } from '../../../contracts/payload.ts';
import type { Thresholds } from '../load/config.ts';

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
export function ordersScenario(
  pattern: string,
  measure: 'rtt' | 'oneway' | 'batch',
  extraTags: Record<string, string> = {},
) {
  const thresholds: Thresholds = { checks: ['rate==1'] };
  if (measure !== 'batch') thresholds.rtb_latency = ['p(95)<1000'];
  return {
    tags: { protocol: 'grpc', pattern, payload: `binary-${orders.payloadBytes}`, measure, ...extraTags },
    thresholds,
  };
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

/** Checks a CreateOrder answer: the order for request `seq` (user, note echoed), total and status right. */
export function orderAnswers(order: Order | undefined, seq: number): boolean {
  return check(order, {
    'order answers its request': (o) => Number(o?.seq) === seq && o?.userId === `vu-${__VU}` && o?.note === NOTE_B64,
    'order total and status are right': (o) => o?.total === ORDER_TOTAL && o?.status === 'CONFIRMED',
  });
}

/**
 * COUNT CreateOrder calls one after another, whatever carries them: the scenario makes each call
 * and reports it with `answered` (or `failed`, and stops), then calls `finish`. rtb_latency per
 * call: `sentAtMs` → `atMs`; rtb_batch_time: first call → last answer.
 */
export class UnaryOrders {
  private readonly started = now();
  private last = this.started;
  private count = 0;
  private failure: string | undefined;

  /** Call `seq` answered `order` at `atMs` (undefined: no answer came); `ok`: the transport's own checks passed. */
  answered(seq: number, order: Order | undefined, sentAtMs: number, atMs: number | undefined, ok = true): void {
    if (atMs !== undefined) {
      latency.add(atMs - sentAtMs);
      this.last = atMs;
      this.count++;
    }
    if (orderAnswers(order, seq) && ok) verified();
  }

  /** The call failed with `failure` (its status already recorded in rtb_errors). */
  failed(failure: string): void {
    this.failure = failure;
  }

  finish(): void {
    finishBatch(this.count, this.started, this.last, this.failure);
  }
}

/** One ProcessOrders request. */
export interface OrderAction {
  orderId: string;
  action: 'process' | 'cancel';
  seq: number;
  payload: string;
}

/** How a transport carries the order stream: `encode` runs before the send time is taken. */
export interface OrderStream<F> {
  encode(action: OrderAction): F;
  send(frame: F): void;
  /** Half-close: no more actions. */
  end(): void;
}

/**
 * The bidi order stream, whatever carries it: COUNT actions, `depth` of them in flight (1 =
 * sequential: write, await the result, write the next). The scenario calls `start(atMs)` once the
 * stream is usable, `result(r, atMs)` for every result with the time it reached the script, and
 * `finish(failure)` when the call has ended. Checks: results arrive in order, none missing, each
 * echoes its action's payload and status. rtb_latency per result: send → result, where the send
 * time is now() (k6/x/measure), no earlier than the timestamp of the event whose handler sent it (as in
 * EchoWindow). rtb_batch_time: start → last result.
 */
export class OrderPipeline<F> {
  private readonly sentAt: number[] = [];
  private nextToSend = 1;
  private nextResult = 1;
  private started = 0;
  private last = 0;
  private halfClosed = false;

  constructor(
    private readonly depth: number,
    private readonly stream: OrderStream<F>,
  ) {}

  start(atMs: number): void {
    this.started = Math.max(now(), atMs);
    this.fill(atMs);
  }

  result(result: OrderResult, atMs: number): void {
    const seq = Number(result.seq);
    const ok = check(result, {
      'results arrive in order, none missing': () => seq === this.nextResult,
      'result echoes its action': (r) =>
        r.payload === NOTE_B64 && r.orderId === `o-${seq}` && r.status === STATUS_FOR[actionFor(seq)],
    });
    if (this.sentAt[seq] !== undefined) latency.add(atMs - this.sentAt[seq]!);
    if (ok) verified();
    this.nextResult = seq + 1;
    this.last = atMs;
    this.fill(atMs);
  }

  /** `failure`: the status the call ended with when it was not OK. */
  finish(failure?: string): void {
    finishBatch(this.nextResult - 1, this.started, this.last, failure);
  }

  /** Keeps `depth` actions in flight; half-closes once every result is in. */
  private fill(eventMs: number): void {
    while (this.nextToSend <= orders.count && this.nextToSend - this.nextResult < this.depth) {
      const seq = this.nextToSend++;
      const frame = this.stream.encode({ orderId: `o-${seq}`, action: actionFor(seq), seq, payload: NOTE_B64 });
      this.sentAt[seq] = Math.max(now(), eventMs);
      this.stream.send(frame);
    }
    if (this.nextResult > orders.count && !this.halfClosed) {
      this.halfClosed = true;
      this.stream.end();
    }
  }
}
