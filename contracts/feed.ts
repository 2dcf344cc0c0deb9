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
