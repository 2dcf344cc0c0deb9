// Types for our k6 extension `k6/x/sse` (Go source in extensions/sse): a browser-like EventSource that
// runs on the VU event loop like k6/websockets. A k6 binary built with the extension is required.

declare module 'k6/x/sse' {
  /** 0 = CONNECTING, 1 = OPEN, 2 = CLOSED. */
  export type ReadyState = 0 | 1 | 2;

  export interface EventSourceOptions {
    /** Extra request headers. Accept, Cache-Control and Last-Event-ID are managed by the client. */
    headers?: Record<string, string>;
    /** Initial Last-Event-ID sent with the first request. */
    lastEventId?: string;
    /** Reconnect after a network error or end of stream (default true). Refused responses never reconnect. */
    reconnect?: boolean;
    /** Initial reconnection time in ms (default 3000); the server's `retry:` field replaces it. */
    retry?: number;
    /** Longest accepted line and largest event data, in bytes (default 8 MiB); more is a malformed stream. */
    maxEventBytes?: number;
    /** Extra metric tags for this stream's samples. */
    tags?: Record<string, string | number | boolean>;
    /** Accepted for browser compatibility; has no effect. */
    withCredentials?: boolean;
  }

  export interface SSEEvent<T extends string = string> {
    readonly type: T;
    readonly target: EventSource;
    /** Wall-clock ms since the Unix epoch (sub-ms precision) when the bytes completing the event were read. */
    readonly timestamp: number;
  }

  export type OpenEvent = SSEEvent<'open'>;

  /** A dispatched server event; `type` is the stream's `event:` field, 'message' by default. */
  export interface MessageEvent extends SSEEvent {
    readonly data: string;
    readonly lastEventId: string;
    /** Origin of the final (post-redirect) stream URL, e.g. 'http://127.0.0.1:8080'. */
    readonly origin: string;
  }

  export interface ErrorEvent extends SSEEvent<'error'> {
    /** Why the connection failed or ended. */
    readonly error: string;
    /** HTTP status of a refused response (non-200, 204, wrong content type); 0 for network and stream errors. */
    readonly status: number;
  }

  export interface EventSourceEventMap {
    open: OpenEvent;
    message: MessageEvent;
    error: ErrorEvent;
  }

  export class EventSource {
    constructor(url: string, options?: EventSourceOptions);

    static readonly CONNECTING: 0;
    static readonly OPEN: 1;
    static readonly CLOSED: 2;
    readonly CONNECTING: 0;
    readonly OPEN: 1;
    readonly CLOSED: 2;

    readonly url: string;
    /** CONNECTING while (re)connecting, OPEN while streaming, CLOSED after close() or a fatal error. */
    readonly readyState: ReadyState;
    /** Last event ID of the stream; sent as Last-Event-ID when reconnecting. */
    readonly lastEventId: string;
    readonly withCredentials: boolean;

    onopen: ((event: OpenEvent) => void) | null;
    onmessage: ((event: MessageEvent) => void) | null;
    onerror: ((event: ErrorEvent) => void) | null;

    addEventListener<K extends keyof EventSourceEventMap>(
      type: K,
      listener: (event: EventSourceEventMap[K]) => void,
    ): void;
    /** Named events (the `event:` field) arrive as MessageEvents with that type. */
    addEventListener(type: string, listener: (event: MessageEvent) => void): void;
    removeEventListener<K extends keyof EventSourceEventMap>(
      type: K,
      listener: (event: EventSourceEventMap[K]) => void,
    ): void;
    removeEventListener(type: string, listener: (event: MessageEvent) => void): void;

    /** Closes the stream at once: no more events, a pending reconnection is cancelled. */
    close(): void;
  }
}
