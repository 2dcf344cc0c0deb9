// Padding payloads of a chosen size, the same bytes on both sides: 'abc…xyz' repeated, so a
// shifted or truncated copy cannot match. The servers generate them (SubscribeOrders' notes),
// the k6 scripts send and check them. Pure: no k6 or Node APIs.

/** n bytes of 'abcdefghijklmnopqrstuvwxyz' repeated. */
export function patternBytes(n: number): ArrayBuffer {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = 97 + (i % 26);
  return bytes.buffer;
}
