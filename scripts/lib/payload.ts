// Padding payloads of a chosen size: 'abc…xyz' repeated, so a shifted or truncated copy cannot
// match. The servers make the same bytes (servers/lib/payload.ts) for what they generate.
// Pure: no k6 imports.

/** n bytes of 'abcdefghijklmnopqrstuvwxyz' repeated. */
export function patternBytes(n: number): ArrayBuffer {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = 97 + (i % 26);
  return bytes.buffer;
}
