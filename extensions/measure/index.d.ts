// Types for our k6 extension `k6/x/measure` (Go source next to this file). A k6 built with the
// extension is required (tools/k6.mjs builds one).

declare module 'k6/x/measure' {
  /**
   * Milliseconds since the Unix epoch, fractional (steps of ~0.24 µs), on the monotonic clock:
   * the wall clock read once at k6's start plus the monotonic time elapsed since. Same unit and
   * origin as the `timestamp` of k6/websockets and k6/x/sse events, so the two subtract. Hold it in a
   * local binding (`const now = measure.now`): a call through k6's import binding costs ~9 µs.
   */
  export function now(): number;

  /** How late the lag probes' timers ran on their VU's event loop since the previous generator() call. */
  export interface LagStat {
    maxMs: number;
    meanMs: number;
    /** Timer callbacks measured (0: no probe ran). */
    count: number;
  }

  /** The whole machine's CPU time over all cores since boot (Linux /proc/stat). */
  export interface HostCpu {
    busyMs: number;
    /** idle + iowait */
    idleMs: number;
    cores: number;
  }

  /** What the k6 process itself has spent. CPU and GC values are cumulative since k6 started. */
  export interface Generator {
    /** now() when taken. */
    atMs: number;
    cpuUserMs: number;
    cpuSystemMs: number;
    /** Resident set size, bytes (0 where the OS does not say). */
    rssBytes: number;
    /** Total stop-the-world garbage-collection pause, ms. */
    gcPauseMs: number;
    gcCount: number;
    /** GOMAXPROCS: how many cores k6 can run on at once, its CPU ceiling (× 100%). */
    cores: number;
    /** null where there is no /proc/stat. */
    host: HostCpu | null;
    /** The VU lag probes' timers. Reset by each call: the monitor scenario is meant to be its only caller. */
    loopLag: LagStat;
    /**
     * A plain Go timer every 100 ms (no event loop), started by the first call: the lateness any
     * timer in the process has when k6 or the machine is short of CPU. loopLag's excess over it is
     * the VU loops' own. Reset by each call.
     */
    timerLag: LagStat;
  }

  /** A snapshot of the k6 process's cost (process-wide, whichever VU asks). */
  export function generator(): Generator;

  /**
   * Arms a timer on this VU's event loop every `intervalMs` (default 100) and records how late
   * each ran (read with generator().loopLag). Call it inside an iteration; call the returned
   * function before the iteration ends, or it cannot end (a cancelled VU stops it as well).
   */
  export function startLagProbe(intervalMs?: number): () => void;

  export interface RawConnectOptions {
    /** How long to wait for the connection to be ready: '10s' (default) or ms. */
    timeout?: string | number;
    /** Largest request or response, bytes (default 16 MiB). */
    maxMessageBytes?: number;
  }

  export interface RawCallParams {
    /** Deadline of the call: '60s' (default) or ms. */
    timeout?: string | number;
    /** Request metadata (e.g. authorization), string values. */
    metadata?: Record<string, string>;
  }

  export interface RawResponse {
    /** gRPC status code, 0 = OK. */
    status: number;
    /** The status message when status ≠ 0. */
    error: string;
    /** The response's protobuf bytes, or null when the call failed. */
    message: ArrayBuffer | null;
    /** now() in Go right before the request was handed to gRPC, and right after the response was read. */
    startMs: number;
    endMs: number;
    durationMs: number;
  }

  /**
   * A gRPC client for pre-encoded protobuf: requests and responses are bytes (a pass-through codec
   * on grpc-go), so no JSON or base64 conversion runs per call; each call is timed in Go. Unary
   * calls only. k6/net/grpc stays the client for everything else (streams, reflection, JSON messages).
   */
  export class RawGrpcClient {
    constructor();
    /** Opens one HTTP/2 connection (plaintext) and waits until it is ready. */
    connect(addr: string, options?: RawConnectOptions): void;
    /** One unary call; blocks the VU. `method` is '/package.Service/Method'; an array payload is sent joined. */
    invoke(method: string, payload: ArrayBuffer | ArrayBuffer[], params?: RawCallParams): RawResponse;
    /** The same without blocking the VU: calls in flight at once share the connection. */
    asyncInvoke(method: string, payload: ArrayBuffer | ArrayBuffer[], params?: RawCallParams): Promise<RawResponse>;
    close(): void;
  }
}
