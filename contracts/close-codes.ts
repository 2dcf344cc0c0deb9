// WebSocket close codes (RFC 6455 §7.4.1) as our servers send them and our clients read them,
// and the one safe way to build a close reason.

export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001, // server shutting down
  UNSUPPORTED_DATA: 1003,
  NO_STATUS: 1005, // no code in the close frame (never sent)
  ABNORMAL: 1006, // connection lost without a close frame (never sent)
  INVALID_DATA: 1007, // a frame we cannot decode (bad JSON, bad framing, bad digest claim)
  POLICY: 1008, // a well-formed request we refuse (unknown op, bad token, bad origin)
  TOO_BIG: 1009, // a message over the size limit
  INTERNAL_ERROR: 1011, // an unexpected error while serving this connection
  TRY_AGAIN_LATER: 1013, // over a capacity limit (connections, channels, budget)
} as const;

export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];

/** A clean close by either side: 1000, or 1005 when the peer sent no code. */
export const isNormalClose = (code: number) => code === CLOSE.NORMAL || code === CLOSE.NO_STATUS;

/** RFC 6455 limits a close frame's payload to 125 bytes: 2 for the code, 123 for the reason. */
export const MAX_CLOSE_REASON_BYTES = 123;

/** UTF-8 length of one code point. */
const utf8Len = (cp: number) => (cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4);

/**
 * `reason` cut to at most 123 UTF-8 bytes on a character boundary (never half a code point), so
 * `ws.close(code, closeReason(text))` cannot throw whatever a client put into `text`.
 */
export function closeReason(reason: string): string {
  let bytes = 0;
  let end = 0;
  for (const ch of reason) {
    bytes += utf8Len(ch.codePointAt(0)!);
    if (bytes > MAX_CLOSE_REASON_BYTES) return reason.slice(0, end);
    end += ch.length;
  }
  return reason;
}
