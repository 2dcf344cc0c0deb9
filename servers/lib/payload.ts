// Padding payloads the servers generate (e.g. SubscribeOrders' notes): contracts/payload.ts's
// bytes, which the k6 side checks, as a Buffer.
import { patternBytes } from '../../contracts/payload.ts';

let last = Buffer.alloc(0);

/** n bytes of 'abcdefghijklmnopqrstuvwxyz' repeated; the last size asked for is reused. */
export function pattern(n: number): Buffer {
  if (last.length === n) return last;
  return (last = Buffer.from(patternBytes(n)));
}
