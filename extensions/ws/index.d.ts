// Types for our k6 extension `k6/x/ws` (Go source in extensions/ws): a lean WebSocket client on the VU
// event loop, with the part of k6/websockets' API rtbench uses. A k6 binary built with the extension is
// required.

declare module 'k6/x/ws' {
  /** 0 = CONNECTING, 1 = OPEN, 2 = CLOSING, 3 = CLOSED. */
  export type ReadyState = 0 | 1 | 2 | 3;

  export interface Params {
    /** Extra handshake headers (Sec-WebSocket-Protocol included; the handshake's own are refused). */
    headers?: Record<string, string>;
    /** Extra metric tags for this socket's ws_sessions, ws_connecting and ws_session_duration samples. */
    tags?: Record<string, string | number | boolean>;
    /** Largest message accepted from the server (default 64 MiB); a larger one closes the socket with 1009. */
    maxMessageBytes?: number;
  }

  export interface WsEvent<T extends string = string> {
    readonly type: T;
    readonly target: WebSocket;
    /** Wall-clock ms since the Unix epoch (sub-ms precision): when the frame was read, in Go. */
    readonly timestamp: number;
  }
  export type OpenEvent = WsEvent<'open'>;
  export interface MessageEvent extends WsEvent<'message'> {
    /** A text frame as a string, a binary frame as an ArrayBuffer. */
    readonly data: string | ArrayBuffer;
  }
  /** The connection failed (never after close()); a close event follows. */
  export interface ErrorEvent extends WsEvent<'error'> {
    readonly error: string;
  }
  export interface CloseEvent extends WsEvent<'close'> {
    /** The server's close code; 1006 when the connection ended without a close frame. */
    readonly code: number;
    readonly reason: string;
    readonly wasClean: boolean;
  }
  export interface EventMap {
    open: OpenEvent;
    message: MessageEvent;
    error: ErrorEvent;
    close: CloseEvent;
  }

  export class WebSocket {
    static readonly CONNECTING: 0;
    static readonly OPEN: 1;
    static readonly CLOSING: 2;
    static readonly CLOSED: 3;
    readonly CONNECTING: 0;
    readonly OPEN: 1;
    readonly CLOSING: 2;
    readonly CLOSED: 3;
    /** Opens the connection in the background; `protocols` are offered as subprotocols. */
    constructor(url: string, protocols?: string | string[] | null, params?: Params);
    readonly url: string;
    readonly readyState: ReadyState;
    /** The subprotocol the server chose ('' if none). */
    readonly protocol: string;
    /** Always 'arraybuffer'; setting anything else throws. */
    binaryType: 'arraybuffer';
    addEventListener<K extends keyof EventMap>(type: K, listener: (e: EventMap[K]) => void): void;
    removeEventListener<K extends keyof EventMap>(type: K, listener: (e: EventMap[K]) => void): void;
    /** Text for a string, binary for an ArrayBuffer or a view of one. Throws while connecting; dropped once closing. */
    send(data: string | ArrayBuffer | ArrayBufferView): void;
    /** Closes with `code` (1000, or 3000-4999) after whatever send() queued; during the handshake it abandons it. */
    close(code?: number, reason?: string): void;
  }
}
