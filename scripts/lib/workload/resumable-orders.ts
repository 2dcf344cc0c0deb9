// The bidi order stream paced and resumable (grpc-ws-stream): the orders workload's actions on a
// schedule, over a call that may have to be opened again, with the results accounted as a feed's
// messages. Its own module so that the other order scenarios do not take the feed's settings.
import { check } from 'k6';
import { clearInterval, setInterval } from 'k6/timers';
import { now } from '../monitor/clock.ts';
import { Subscription } from './feed.ts';
import { NOTE_B64, STATUS_FOR, actionFor, finishBatch, orders } from './orders.ts';
import type { OrderResult, OrderStream } from './orders.ts';

/**
 * The bidi order stream paced and resumable, whatever carries it: an action every `intervalMs`
 * from construction, COUNT of them, over a call the transport may have to open more than once. The
 * transport calls `opened(stream)` for every opening (the actions after the last result, and any that fell
 * due while the connection was lost, are sent again), `result(r, atMs)` for each result, `lost(atMs)`
 * when the connection goes, and `finish(failure)` at the end. Results are accounted as a feed's
 * messages (Subscription): gaps in rtb_lost, repeats in rtb_duplicates, connection lost → first
 * result again in rtb_recovery_time, rtb_latency from the send that was answered (`rtt`).
 */
export class ResumableOrders<F> {
  private readonly results = new Subscription();
  private readonly sentAt: number[] = [];
  private readonly started = now();
  private due = 0;
  private stream: OrderStream<F> | null = null;
  private halfClosed: OrderStream<F> | null = null;
  private readonly pace: number;

  constructor(intervalMs: number) {
    this.pace = setInterval(() => {
      this.due++;
      if (this.stream) this.send(this.due);
      if (this.due === orders.count) clearInterval(this.pace);
    }, intervalMs);
  }

  opened(stream: OrderStream<F>): void {
    this.stream = stream;
    for (let seq = this.results.lastSeq + 1; seq <= this.due; seq++) this.send(seq);
    this.endOnceAnswered();
  }

  result(result: OrderResult, atMs: number): void {
    const seq = Number(result.seq);
    const intact = check(result, {
      'result echoes its action': (r) =>
        r.payload === NOTE_B64 && r.orderId === `o-${seq}` && r.status === STATUS_FOR[actionFor(seq)],
    });
    this.results.arrived(seq, this.sentAt[seq] ?? atMs, atMs, intact, orders.payloadBytes);
    this.endOnceAnswered();
  }

  lost(atMs: number): void {
    this.stream = null;
    this.results.disconnected(atMs);
  }

  /** `failure`: the status the call ended with when it was not OK. */
  finish(failure?: string): void {
    clearInterval(this.pace);
    this.results.finish(false); // under a FAULT schedule, also: a lost connection came back
    finishBatch(this.results.received, this.started, this.results.lastReadAt, failure);
  }

  private send(seq: number): void {
    const frame = this.stream!.encode({ orderId: `o-${seq}`, action: actionFor(seq), seq, payload: NOTE_B64 });
    this.sentAt[seq] = now();
    this.stream!.send(frame);
  }

  /** Every result is in: half-close, once per opening, and the server ends the call with OK. */
  private endOnceAnswered(): void {
    if (this.results.lastSeq !== orders.count || !this.stream || this.halfClosed === this.stream) return;
    this.halfClosed = this.stream;
    this.stream.end();
  }
}
