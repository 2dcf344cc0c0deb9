// rtbench.orders.v1.OrderService (seed 004): gRPC's four call patterns on one order contract.
//   CreateOrder       unary             the Order for one request (seq and note echoed)
//   SubscribeOrders   server streaming  `count` Orders, `interval_ms` apart, `note_bytes` of note each
//   BulkCreateOrders  client streaming  every request validated; {created, total, seqs_missing} at the end
//   ProcessOrders     bidi streaming    one OrderResult per OrderAction, in order, payload echoed
// Every streamed message carries `seq` and `server_send_ms` (server clock just before the write).
// Semantically bad requests end the call with INVALID_ARGUMENT saying what is wrong.
import * as grpc from '@grpc/grpc-js';
import { paceStream, replyEach, RpcError, toServiceError } from './lib/grpc.ts';
import { nowMs } from './lib/clock.ts';
import { pattern } from './lib/payload.ts';
import { statsFor } from './lib/stats.ts';

/**
 * Order streams open now (SubscribeOrders and ProcessOrders calls), in /stats as protocol
 * `grpc-stream` (its `connections`): the capacity runs hold many per HTTP/2 connection, and a call
 * whose client went away (through the bridge too) must leave it.
 */
const streams = statsFor('grpc-stream');

/** SubscribeOrders calls under way: what a reconnect storm (dropOrderStreams) cuts. */
const subscriptions = new Set<grpc.ServerWritableStream<unknown, unknown>>();

/** Counts `call` in `streams` (and a SubscribeOrders call in `subscriptions`) until it finishes, is cancelled or fails. */
function countStream(
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  subscription = false,
) {
  streams.opened();
  if (subscription) subscriptions.add(call as grpc.ServerWritableStream<unknown, unknown>);
  let open = true;
  const closed = () => {
    if (open) streams.closed();
    open = false;
    subscriptions.delete(call as grpc.ServerWritableStream<unknown, unknown>);
  };
  for (const event of ['finish', 'cancelled', 'error']) call.once(event, closed);
}

/**
 * A reconnect storm for the order streams (POST /grpc/drop): ends every SubscribeOrders call under
 * way at once with UNAVAILABLE, as a server going away would; a client resumes with a new call
 * whose `after_seq` is the last order it read. Returns how many it cut.
 */
export function dropOrderStreams(): number {
  const cut = [...subscriptions];
  subscriptions.clear();
  for (const call of cut)
    call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'stream cut by the server (POST /grpc/drop)' });
  return cut.length;
}

/** Most orders one SubscribeOrders call may ask for. */
export const MAX_STREAM_ORDERS = 100_000;
/** Longest pause between streamed orders. */
export const MAX_INTERVAL_MS = 60_000;
/** Room left in a message for the fields around the note. */
const ORDER_OVERHEAD_BYTES = 1024;
/** Gaps reported by BulkCreateOrders are capped so the response stays small. */
const MAX_REPORTED_GAPS = 1000;

// Test only: RTBENCH_TEST_STALL_MS=N freezes this process for N ms (at most 10 s; a busy wait, as a
// long GC pause or a CPU hog would) before the middle order of every SubscribeOrders stream, so a
// test can show what send-stamped latency hides and intended-time latency does not. Unset: no stall.
const TEST_STALL_MS = Math.min(10_000, Math.max(0, Number(process.env.RTBENCH_TEST_STALL_MS) || 0));
const stall = (ms: number) => {
  for (const end = performance.now() + ms; performance.now() < end;);
};

const STATUSES = ['PENDING', 'CONFIRMED', 'PROCESSING', 'SHIPPED', 'DELIVERED', 'CANCELLED'];

interface LineItem {
  productId: string;
  quantity: number;
  price: number;
}
interface CreateOrderRequest {
  userId: string;
  items: LineItem[];
  seq: number;
  note: Buffer;
}
interface OrderFilter {
  statuses: string[];
  count: number;
  intervalMs: number;
  noteBytes: number;
  afterSeq: number;
}
interface OrderAction {
  orderId: string;
  action: string;
  seq: number;
  payload: Buffer;
}

const invalid = (message: string) => new RpcError(grpc.status.INVALID_ARGUMENT, message);

/** Throws INVALID_ARGUMENT for a request no order can be made from; returns the order total. */
function checkRequest(req: CreateOrderRequest): number {
  if (req.userId.trim() === '') throw invalid(`CreateOrderRequest seq ${req.seq}: user_id is empty`);
  let total = 0;
  req.items.forEach((item, i) => {
    if (!Number.isInteger(item.quantity) || item.quantity < 1)
      throw invalid(`CreateOrderRequest seq ${req.seq}: items[${i}].quantity must be at least 1, got ${item.quantity}`);
    if (!Number.isFinite(item.price) || item.price < 0)
      throw invalid(
        `CreateOrderRequest seq ${req.seq}: items[${i}].price must be a non-negative number, got ${item.price}`,
      );
    total += item.quantity * item.price;
    if (!Number.isFinite(total))
      throw invalid(`CreateOrderRequest seq ${req.seq}: the order total overflows at items[${i}]`);
  });
  return total;
}

function checkFilter(f: OrderFilter, maxNoteBytes: number): void {
  if (f.count < 1 || f.count > MAX_STREAM_ORDERS)
    throw invalid(`OrderFilter.count must be 1 to ${MAX_STREAM_ORDERS}, got ${f.count}`);
  if (f.afterSeq >= f.count) throw invalid(`OrderFilter.after_seq must be below count (${f.count}), got ${f.afterSeq}`);
  if (f.intervalMs > MAX_INTERVAL_MS)
    throw invalid(`OrderFilter.interval_ms must be at most ${MAX_INTERVAL_MS}, got ${f.intervalMs}`);
  if (f.noteBytes > maxNoteBytes)
    throw invalid(
      `OrderFilter.note_bytes must be at most ${maxNoteBytes} (the maximum message size less ${ORDER_OVERHEAD_BYTES}), got ${f.noteBytes}`,
    );
  const unknown = f.statuses.find((s) => !STATUSES.includes(s));
  if (unknown !== undefined) throw invalid(`OrderFilter.statuses: unknown status ${unknown}`);
}

export function orderService(opts: { maxMessageBytes: number }): grpc.UntypedServiceImplementation {
  let orders = 0;
  const maxNoteBytes = Math.max(0, opts.maxMessageBytes - ORDER_OVERHEAD_BYTES);

  return {
    CreateOrder(call: grpc.ServerUnaryCall<CreateOrderRequest, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const req = call.request;
      const total = checkRequest(req);
      callback(null, {
        id: `ord-${++orders}`,
        userId: req.userId,
        items: req.items,
        total,
        status: 'CONFIRMED',
        seq: req.seq,
        serverSendMs: nowMs(),
        note: req.note,
      });
    },

    SubscribeOrders(call: grpc.ServerWritableStream<OrderFilter, unknown>) {
      const f = call.request;
      checkFilter(f, maxNoteBytes);
      const note = pattern(f.noteBytes);
      const statuses = f.statuses.length > 0 ? f.statuses : ['CONFIRMED'];
      const items = [{ productId: 'sku-1', quantity: 1, price: 9.5 }];
      countStream(call, true);
      paceStream(
        call,
        f.count,
        f.intervalMs,
        (seq) => {
          if (TEST_STALL_MS > 0 && seq === Math.ceil(f.count / 2)) stall(TEST_STALL_MS);
          return {
            id: `ord-${++orders}`,
            userId: 'feed',
            items,
            total: 9.5,
            status: statuses[(seq - 1) % statuses.length],
            seq,
            serverSendMs: nowMs(),
            note,
          };
        },
        f.afterSeq,
        f.noteBytes + 128,
      );
    },

    BulkCreateOrders(
      call: grpc.ServerReadableStream<CreateOrderRequest, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) {
      let created = 0;
      let total = 0;
      let nextSeq = 1; // a stream is ordered, so a gap is a seq the client skipped
      const seqsMissing: number[] = [];
      let failed = false;
      call.on('data', (req: CreateOrderRequest) => {
        if (failed) return;
        try {
          total += checkRequest(req);
          if (!Number.isFinite(total)) throw invalid(`CreateOrderRequest seq ${req.seq}: the running total overflows`);
        } catch (err) {
          failed = true;
          return callback(toServiceError(err));
        }
        for (let s = nextSeq; s < req.seq && seqsMissing.length < MAX_REPORTED_GAPS; s++) seqsMissing.push(s);
        nextSeq = Math.max(nextSeq, req.seq + 1);
        created++;
      });
      call.on('end', () => {
        if (!failed) callback(null, { created, total, seqsMissing });
      });
    },

    ProcessOrders(call: grpc.ServerDuplexStream<OrderAction, unknown>) {
      countStream(call);
      replyEach(call, (a) => {
        if (a.orderId === '') throw invalid(`OrderAction seq ${a.seq}: order_id is empty`);
        if (a.action !== 'process' && a.action !== 'cancel')
          throw invalid(
            `OrderAction seq ${a.seq}: action must be "process" or "cancel", got ${JSON.stringify(a.action)}`,
          );
        const status = a.action === 'process' ? 'PROCESSING' : 'CANCELLED';
        return {
          orderId: a.orderId,
          status,
          message: `${a.orderId} ${status.toLowerCase()}`,
          seq: a.seq,
          payload: a.payload,
          serverSendMs: nowMs(),
        };
      });
    },
  };
}
