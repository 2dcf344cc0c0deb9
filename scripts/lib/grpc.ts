// gRPC mechanics on k6/net/grpc: one client per VU with our contracts loaded at init, connect
// with connect-time accounting, and status accounting for failed calls.
import grpc from 'k6/net/grpc';
import { connectTime, errors } from './metrics.ts';

/** A client with the given proto files loaded from the repo's proto/ folder (relative to dist/). */
export function grpcClient(...protoFiles: string[]): grpc.Client {
  const client = new grpc.Client();
  client.load(['../proto'], ...protoFiles);
  return client;
}

/** Connects (plaintext HTTP/2); records rtb_connect_time around the blocking connect. */
export function connect(client: grpc.Client, addr: string, maxMessageBytes = 16 * 1024 * 1024): void {
  const started = Date.now();
  client.connect(addr, { plaintext: true, maxReceiveSize: maxMessageBytes, maxSendSize: maxMessageBytes, timeout: '10s' });
  connectTime.add(Date.now() - started);
}

const STATUS_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(grpc).filter(([k, v]) => k.startsWith('Status') && typeof v === 'number').map(([k, v]) => [v as number, k.slice(6)]),
);

/** True for an OK response; otherwise records rtb_errors tagged with the status name. */
export function okResponse(res: grpc.Response | null | undefined): res is grpc.Response {
  if (res && res.status === grpc.StatusOK) return true;
  const status = res ? (STATUS_NAMES[res.status] ?? String(res.status)) : 'no response';
  errors.add(1, { reason: `grpc ${status}` });
  return false;
}
