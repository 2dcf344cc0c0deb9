// gRPC without k6/net/grpc's JSON and base64: k6/x/measure's RawGrpcClient (grpc-go with a
// pass-through codec) sends protobuf the script encoded with protobufjs and hands back the
// response's bytes; each call is timed in Go. For workloads whose messages are large (images),
// where k6/net/grpc would spend more time converting a message than sending it.
import { RawGrpcClient, type RawResponse } from 'k6/x/measure';
import { now } from '../monitor/clock.ts';
import { Root, type Type } from 'protobufjs/light';
import protos from 'rtbench:protos';
import { connectTime, errors } from '../monitor/metrics.ts';
import { grpcAuth } from './auth.ts';

const root = Root.fromJSON(protos);
root.resolveAll();

export interface RawMethod {
  /** /package.Service/Method */
  path: string;
  /** A request message (camelCase fields, bytes as Uint8Array) as protobuf. */
  encode(message: object): ArrayBuffer;
  /** A response's protobuf as a plain object (camelCase, 64-bit integers as numbers). */
  decode(bytes: ArrayBuffer): Record<string, unknown>;
}

/** A unary method of our contracts, named as k6/net/grpc names it ('package.Service/Method'). */
export function rawMethod(name: string): RawMethod {
  const slash = name.lastIndexOf('/');
  const service = root.lookupService(name.slice(0, slash));
  const m = service.methods[name.slice(slash + 1)];
  if (!m || m.requestStream || m.responseStream) throw new Error(`${name}: no such unary method in proto/`);
  const req = m.resolvedRequestType as Type;
  const res = m.resolvedResponseType as Type;
  return {
    path: `/${service.fullName.slice(1)}/${m.name}`,
    encode: (message) => req.encode(req.fromObject(message)).finish().slice().buffer as ArrayBuffer,
    decode: (bytes) => res.toObject(res.decode(new Uint8Array(bytes)), { longs: Number, defaults: true }),
  };
}

/** True for an OK response; otherwise records rtb_errors tagged with the status, as for k6/net/grpc. */
export function rawOk(res: RawResponse): res is RawResponse & { message: ArrayBuffer } {
  if (res.status === 0 && res.message !== null) return true;
  errors.add(1, { reason: `grpc ${res.status}` });
  return false;
}

export interface RawBatch {
  count: number;
  /** All calls in flight at once on the connection, or one at a time. */
  concurrent: boolean;
  timeoutMs: number;
  /** Call i's request (1..count), in parts sent joined. */
  payload: (i: number) => ArrayBuffer[];
  /** Call i's response; false stops a sequential batch there. */
  onResponse: (i: number, res: RawResponse) => boolean;
}

/**
 * Connects to `addr` (rtb_connect_time around the blocking connect), makes calls 1..count of `m`
 * and closes the connection.
 */
export async function rawBatch(addr: string, m: RawMethod, b: RawBatch): Promise<void> {
  const c = new RawGrpcClient();
  const started = now();
  c.connect(addr, { timeout: '10s' });
  connectTime.add(now() - started);
  const params = { timeout: b.timeoutMs, ...grpcAuth() };
  if (b.concurrent) {
    const calls = [];
    for (let i = 1; i <= b.count; i++)
      calls.push(c.asyncInvoke(m.path, b.payload(i), params).then((r) => b.onResponse(i, r)));
    await Promise.all(calls);
  } else {
    for (let i = 1; i <= b.count; i++) if (!b.onResponse(i, c.invoke(m.path, b.payload(i), params))) break;
  }
  c.close();
}
