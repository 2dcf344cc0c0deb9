// What the browser test page (browser/page.ts) measures and exposes as `window.rtb`, read by the
// k6/browser scenarios (scripts/lib/transport/browser-page.ts) and the browser tests.

export interface PageResults {
  transport: string;
  measure: 'oneway' | 'rtt';
  /** ms from opening to the first usable moment, one per connection (reconnections included). */
  connectMs: number[];
  /** Per-message latency in ms (see the header). */
  latencies: number[];
  delivered: number;
  payloadBytes: number;
  lost: number;
  duplicates: number;
  reconnects: number;
  errors: string[];
  /** SSE with streams > 1: ms from page start to each stream's open, null while it waits. */
  opened: Array<number | null>;
  /** grpc-calls: each call's status and responses (base64 protobuf), by method. */
  calls?: Record<string, { code: number; message: string; responses: string[] }>;
  /** The Socket.IO transport in use at the end ('polling' | 'websocket'). */
  socketioTransport?: string;
  done: boolean;
  /** Closes stream i (SSE with streams > 1), freeing its connection. */
  closeStream?: (i: number) => void;
}
