// The image workload: N copies of one ~533 KB PNG, sent one at a time
// (`sequential`: send, await the ack, send the next) or all at once (`concurrent`: pipelined on
// one WebSocket, multiplexed on one HTTP/2 connection). The server acknowledges each image with
// the size and SHA-256 of what it received; the client checks them against its own.
import { check } from 'k6';
import { sha256 } from 'k6/crypto';
import { envChoice, envCount, envDuration } from '../load/env.ts';
import { batchTime, delivered, errors, latency, payloadBytes } from '../monitor/metrics.ts';
import type { Thresholds } from '../load/config.ts';
import { ackConfirms, type ImageAck, type ImageClaim } from '../../../contracts/image.ts';

export type { ImageAck } from '../../../contracts/image.ts';

export const IMAGE: ArrayBuffer = open('./assets/image-533k.png', 'b');
export const IMAGE_BYTES = IMAGE.byteLength;
export const IMAGE_SHA256 = sha256(IMAGE, 'hex');

export const IMAGE_MODES = ['sequential', 'concurrent'] as const;
export type ImageMode = (typeof IMAGE_MODES)[number];

/** Run settings: -e IMAGES=50 -e MODE=concurrent -e TIMEOUT=60s */
export const images = {
  count: envCount('IMAGES', 10, { min: 1, max: 10_000 }),
  mode: envChoice<ImageMode>('MODE', 'sequential', IMAGE_MODES),
  timeoutMs: envDuration('TIMEOUT', '60s'),
};

/** The tags and SLO thresholds both image scenarios start from. */
export function imageScenario(protocol: string) {
  const thresholds: Thresholds = {
    checks: ['rate==1'],
    rtb_latency: ['p(95)<5000'],
    rtb_batch_time: ['p(95)<30000'],
  };
  return { tags: { protocol, pattern: 'image', payload: 'png-533k', mode: images.mode, measure: 'rtt' }, thresholds };
}

export function claim(id: number): ImageClaim {
  return { id, size: IMAGE_BYTES, sha256: IMAGE_SHA256 };
}

/**
 * One batch of `images.count` images: remembers when each was sent, verifies each ack, records
 * per-image latency and, when the last ack is in, the batch time. Ids run 1..count.
 */
export class ImageBatch {
  readonly count = images.count;
  private readonly sentAt: number[] = [];
  private firstSend = 0;
  private lastAck = 0;
  private acked = 0;
  private finished = false;

  sent(id: number, atMs: number): void {
    // Sends may be recorded out of order (concurrent calls timed in Go): the batch starts at the earliest.
    if (this.firstSend === 0 || atMs < this.firstSend) this.firstSend = atMs;
    this.sentAt[id] = atMs;
  }

  /** Verifies an ack received at `atMs`; returns true when it was the batch's last. */
  acknowledged(ack: ImageAck, atMs: number): boolean {
    const sentAt = this.sentAt[ack.id];
    const ok = check(ack, {
      'ack is for an image we sent': () => sentAt !== undefined,
      'ack digest matches': (a) => ackConfirms(claim(a.id), a),
    });
    if (sentAt !== undefined) {
      latency.add(atMs - sentAt);
      this.sentAt[ack.id] = undefined as unknown as number; // a second ack for the same id fails the first check
    }
    if (ok) {
      delivered.add(1);
      payloadBytes.add(IMAGE_BYTES);
    }
    this.acked++;
    this.lastAck = Math.max(this.lastAck, atMs);
    if (this.acked === this.count) this.finish(this.lastAck);
    return this.acked >= this.count;
  }

  /** Ends the batch; a batch that ends before every ack arrived fails its check. */
  finish(atMs: number, reason = 'incomplete'): void {
    if (this.finished) return;
    this.finished = true;
    const complete = this.acked === this.count;
    check(this, { 'all images acknowledged': () => complete });
    if (complete) batchTime.add(atMs - this.firstSend);
    else errors.add(1, { reason });
  }
}
