// gRPC plumbing shared by our services: loading the contracts in proto/, decoding requests
// ourselves so that bytes that are not valid protobuf get INVALID_ARGUMENT (grpc-js would say
// INTERNAL), and binding/stopping a server.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true };

/** The repo's proto/ folder, found by walking up from this file (works from dist/ and from a container). */
export function protoDir(): string {
  if (process.env.RTBENCH_PROTO_DIR) return process.env.RTBENCH_PROTO_DIR;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'proto', 'image.proto'))) return join(dir, 'proto');
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the proto/ folder; set RTBENCH_PROTO_DIR');
    dir = up;
  }
}

export function loadProtos(files: string[]): protoLoader.PackageDefinition {
  return protoLoader.loadSync(files, { ...LOADER_OPTIONS, includeDirs: [protoDir()] });
}

export function serviceDefinition(pkg: protoLoader.PackageDefinition, name: string): grpc.ServiceDefinition {
  const def = pkg[name];
  // proto-loader maps message and enum names to type definitions (they carry a `format`).
  if (!def || 'format' in def) throw new Error(`service ${name} not found in the loaded protos`);
  return def as grpc.ServiceDefinition;
}

export class RpcError extends Error {
  constructor(readonly code: grpc.status, message: string) {
    super(message);
  }
}

type Decode = (buf: Buffer) => unknown;

/**
 * Returns the service definition with request decoding moved into the handlers, and the
 * handlers wrapped so that an undecodable request is answered with INVALID_ARGUMENT naming the
 * message type, and a thrown RpcError with its own code. Unary and server-streaming handlers
 * receive the decoded request as usual.
 */
export function strictService(
  def: grpc.ServiceDefinition,
  impl: grpc.UntypedServiceImplementation,
): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation] {
  const rawDef: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const wrapped: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(def)) {
    const decode: Decode = method.requestDeserialize;
    const typeName = (method as { requestType?: { type?: { name?: string } } }).requestType?.type?.name ?? 'request';
    rawDef[name] = { ...method, requestDeserialize: (buf: Buffer) => buf };
    const handler = impl[name];
    if (!handler) continue;
    const decodeOrThrow = (buf: Buffer) => {
      try {
        return decode(buf);
      } catch (err) {
        throw new RpcError(grpc.status.INVALID_ARGUMENT, `${typeName} is not valid protobuf: ${(err as Error).message}`);
      }
    };
    if (!method.requestStream && !method.responseStream) {
      wrapped[name] = (call: grpc.ServerUnaryCall<Buffer, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        try {
          (call as { request: unknown }).request = decodeOrThrow(call.request);
          (handler as grpc.handleUnaryCall<unknown, unknown>)(call as grpc.ServerUnaryCall<unknown, unknown>, (err, value) => callback(err, value));
        } catch (err) {
          callback(toServiceError(err));
        }
      };
    } else {
      // Streaming kinds are wrapped when they are added (see the gRPC patterns scenarios).
      rawDef[name] = method;
      wrapped[name] = handler;
    }
  }
  return [rawDef as grpc.ServiceDefinition, wrapped];
}

export function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof RpcError) return { code: err.code, details: err.message };
  return { code: grpc.status.INTERNAL, details: `internal error: ${(err as Error)?.message ?? String(err)}` };
}

export function bind(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

/** Let calls in flight finish for up to `graceMs`, then cancel what is left. */
export function shutdown(server: grpc.Server, graceMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
