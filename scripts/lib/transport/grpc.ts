// gRPC mechanics on k6/net/grpc: one client per VU with our contracts loaded at init, connect
// with connect-time accounting, status accounting for failed calls, and streams as promises.
//
// Clock: k6/net/grpc stamps nothing finer than whole seconds (a stream event's `metadata.ts`), so
// times are k6/x/measure's now() (monotonic, sub-microsecond) when a call returns or its event
// reaches the script: they include k6's conversion of the message to JS.
import grpc from 'k6/net/grpc';
import { setTimeout } from 'k6/timers';
import { now } from '../monitor/clock.ts';
import { connectTime, errors } from '../monitor/metrics.ts';
import { lagProbe } from '../monitor/lag-probe.ts';
import { grpcAuth } from './auth.ts';
import { reconnectDelay } from './backoff.ts';

/** A client with the given proto files loaded from the repo's proto/ folder (relative to dist/). */
export function grpcClient(...protoFiles: string[]): grpc.Client {
  const client = new grpc.Client();
  client.load(['../proto'], ...protoFiles);
  return client;
}

/** Connects (plaintext HTTP/2); records rtb_connect_time around the blocking connect. */
export function connect(client: grpc.Client, addr: string, maxMessageBytes = 16 * 1024 * 1024): void {
  const started = now();
  client.connect(addr, {
    plaintext: true,
    maxReceiveSize: maxMessageBytes,
    maxSendSize: maxMessageBytes,
    timeout: '10s',
  });
  connectTime.add(now() - started);
}

const STATUS_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(grpc)
    .filter(([k, v]) => k.startsWith('Status') && typeof v === 'number')
    .map(([k, v]) => [v as number, k.slice(6)]),
);

const statusName = (code: number) => STATUS_NAMES[code] ?? String(code);

/** True for an OK response; otherwise records rtb_errors tagged with the status name. */
export function okResponse(res: grpc.Response | null | undefined): res is grpc.Response {
  if (res && res.status === grpc.StatusOK) return true;
  errors.add(1, { reason: `grpc ${res ? statusName(res.status) : 'no response'}` });
  return false;
}

export interface StreamEnd {
  /** The status the stream ended with when it was not OK (its code, name and message). */
  error?: { code: number; status: string; message: string };
  /** now() when the end reached the script. */
  atMs: number;
}

export interface OpenStream {
  stream: grpc.Stream;
  /** Resolves once the stream has ended, whatever the status. */
  ended: Promise<StreamEnd>;
}

/**
 * Opens a streaming call of any kind on a connected client. `onData` gets every response message
 * with now() at the moment its event reached the script. A non-OK end is recorded in
 * rtb_errors tagged with the status name, but for UNAVAILABLE with `resumes` (the caller opens
 * the call again after the last message it read: a cut it recovers from is no error).
 * `timeoutMs` bounds the whole call (DEADLINE_EXCEEDED).
 */
export function openStream<T>(
  client: grpc.Client,
  method: string,
  timeoutMs: number,
  onData: (message: T, atMs: number) => void,
  { resumes = false } = {},
): OpenStream {
  const stream = new grpc.Stream(client, method, { timeout: `${timeoutMs}ms`, ...grpcAuth() });
  let error: StreamEnd['error'];
  const stopProbe = lagProbe(); // for as long as the stream is open
  stream.on('data', (message) => onData(message as T, now()));
  stream.on('error', (e) => {
    stopProbe();
    const err = e as grpc.GrpcError;
    error = { code: err.code, status: statusName(err.code), message: err.message };
    if (!resumes || err.code !== grpc.StatusUnavailable) errors.add(1, { reason: `grpc ${error.status}` });
  });
  const ended = new Promise<StreamEnd>((resolve) =>
    stream.on('end', () => {
      stopProbe();
      resolve({ error, atMs: now() });
    }),
  );
  return { stream, ended };
}

const RECONNECT_FOR_MS = 30_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A server stream that outlives its connection: when the call fails in transport (UNAVAILABLE:
 * the connection went away), it reconnects with backoff (a random time up to 100 ms, doubling to 2 s, for at most
 * 30 s) and opens the call again with `request()`, which should resume after the last message
 * seen. `onLost` hears when each connection was lost. Resolves with how the last call ended.
 */
export async function resumableStream<T>(
  client: grpc.Client,
  addr: string,
  method: string,
  timeoutMs: number,
  request: () => object,
  onData: (message: T, atMs: number) => void,
  onLost: (atMs: number) => void,
): Promise<StreamEnd> {
  for (;;) {
    const { stream, ended } = openStream<T>(client, method, timeoutMs, onData);
    stream.write(request());
    stream.end();
    const end = await ended;
    if (end.error?.code !== grpc.StatusUnavailable) return end;
    onLost(end.atMs);
    client.close();
    if (!(await reconnect(client, addr))) return end;
  }
}

async function reconnect(client: grpc.Client, addr: string): Promise<boolean> {
  const until = Date.now() + RECONNECT_FOR_MS;
  for (let attempt = 0; Date.now() < until; attempt++) {
    await sleep(reconnectDelay(attempt, 100, 2000));
    try {
      client.connect(addr, { plaintext: true, timeout: '5s' });
      return true;
    } catch {
      // refused or timed out: the network is still down
    }
  }
  return false;
}
