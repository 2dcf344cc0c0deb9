// The server-push feed's wire shapes, as servers/feed.ts serves them over SSE and WebSocket and
// scripts/lib/workload/feed.ts reads them. Pure: no k6 or Node APIs.

/** POST /feed/channels body: a channel publishing `rate` messages/s of `bytes` payload characters. */
export interface ChannelSpec {
  name: string;
  rate: number; // messages per second; 0 = publish only on demand (POST /feed/publish)
  bytes: number; // payload bytes per message
}

/**
 * Every message body (SSE `data:`, a WebSocket text frame): sequence number, server send time
 * (ms since the epoch), channel, payload.
 */
export interface FeedMessage {
  seq: number;
  t: number;
  ch: string;
  p: string;
}

/** WebSocket /feed: the client's one request; `after` resumes after that sequence number. */
export interface SubscribeRequest {
  op: 'subscribe';
  channel: string;
  after?: number;
}

/** A resume asked for messages the server no longer holds: `requested` up to `oldest` - 1 are gone. */
export interface ResetInfo {
  requested: number;
  oldest: number;
  /** Why the resume point could not be served (e.g. it is ahead of the channel, or fell out of replay). */
  reason?: string;
}

// How a server writes a message: JSON.stringify({ seq, t, ch, p }), keys in that order; channel
// names are [A-Za-z0-9_.-] and payloads plain characters, so nothing in them is escaped.
const SEQ = '{"seq":';
const T = ',"t":';
const CH = ',"ch":"';
const P = '","p":"';

/**
 * Reads a message body. The generator reads one per message, and at 10,000 messages a second
 * k6's JSON.parse was a tenth of its CPU and a quarter of the garbage it made: a body as the
 * servers write it is read by position instead, and anything else (other key order, escapes,
 * a control message) goes to JSON.parse. Returns the parsed value either way.
 */
export function readFeedMessage(text: string): FeedMessage {
  if (text.startsWith(SEQ) && text.endsWith('"}')) {
    const t = text.indexOf(T, SEQ.length);
    const ch = t < 0 ? -1 : text.indexOf(CH, t + T.length);
    const p = ch < 0 ? -1 : text.indexOf(P, ch + CH.length);
    if (p >= 0) {
      const seq = Number(text.slice(SEQ.length, t));
      const sent = Number(text.slice(t + T.length, ch));
      const name = text.slice(ch + CH.length, p);
      const payload = text.slice(p + P.length, text.length - 2);
      if (
        t > SEQ.length &&
        ch > t + T.length &&
        Number.isFinite(seq) &&
        Number.isFinite(sent) &&
        !name.includes('"') &&
        !payload.includes('"') &&
        !payload.includes('\\')
      )
        return { seq, t: sent, ch: name, p: payload };
    }
  }
  return JSON.parse(text) as FeedMessage;
}
