// Padding payloads the servers generate (e.g. SubscribeOrders' notes). The k6 side builds the
// same bytes with scripts/lib/payload.ts to check what arrived: 'abc…xyz' repeated, n bytes.

let last = Buffer.alloc(0);

/** n bytes of 'abcdefghijklmnopqrstuvwxyz' repeated; the last size asked for is reused. */
export function pattern(n: number): Buffer {
  if (last.length === n) return last;
  const buf = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) buf[i] = 97 + (i % 26);
  return (last = buf);
}
