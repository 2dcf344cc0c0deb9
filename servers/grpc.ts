// gRPC services (@grpc/grpc-js) with server reflection, so grpcurl and ghz work without our files.
//
// rtbench.image.v1.ImageService/Upload — seed 000's image transfer: the server hashes the bytes
//   and acknowledges with what it saw. Invalid protobuf or a malformed claim → INVALID_ARGUMENT;
//   a message over the maximum size → RESOURCE_EXHAUSTED (from grpc-js's receive limit).
// rtbench.orders.v1.OrderService — seed 004's four call patterns (servers/grpc-orders.ts).
// rtbench.echo.v1.EchoService — seed 002's echo round trips over gRPC (servers/grpc-echo.ts).
// Every service goes through strictService: requests checked strictly on the wire and decoded by
// us (invalid protobuf → INVALID_ARGUMENT on every call kind, see servers/lib/proto-strict.ts for
// exactly what is accepted) and messages/bytes counted in the 'grpc' stats.
// Limits: grpcMaxStreams concurrent calls per connection (more wait for HTTP/2's
// MAX_CONCURRENT_STREAMS), connections idle past idleMs get GOAWAY, a connection that sends no
// HTTP/2 preface within handshakeMs is cut. With a token, every call (reflection included) needs
// `authorization: Bearer <token>` metadata, else UNAUTHENTICATED. On shutdown, streaming calls
// in flight end with UNAVAILABLE.
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import {
  bind,
  guardHandshakes,
  loadProtos,
  requireToken,
  RpcError,
  serviceDefinition,
  shutdown,
  strictService,
} from './lib/grpc.ts';
import { StrictWire } from './lib/proto-strict.ts';
import { claimProblem, verifyImage } from './lib/image.ts';
import { nowMs } from './lib/clock.ts';
import { countGrpcConnections } from './lib/grpc-connections.ts';
import { orderService } from './grpc-orders.ts';
import { echoService } from './grpc-echo.ts';

export interface GrpcOptions {
  host: string;
  port: number;
  maxMessageBytes: number;
  /** Concurrent calls per connection. */
  maxStreams?: number;
  idleMs?: number;
  handshakeMs?: number;
  /** Checks a presented token; absent = no token required. */
  tokenMatches?: (presented: string | null) => boolean;
}

interface ImageRequest {
  id: number;
  data: Buffer;
  size: number;
  sha256: string;
}

const imageService: grpc.UntypedServiceImplementation = {
  Upload(call: grpc.ServerUnaryCall<ImageRequest, unknown>, callback: grpc.sendUnaryData<unknown>) {
    const receivedAt = nowMs();
    const req = call.request;
    const problem = claimProblem(req);
    if (problem) throw new RpcError(grpc.status.INVALID_ARGUMENT, problem);
    const ack = verifyImage(req, req.data, receivedAt);
    callback(null, ack);
  },
};

export async function startGrpc(opts: GrpcOptions): Promise<{ port: number; stop: () => Promise<void> }> {
  const pkg = loadProtos(['image.proto', 'orders.proto', 'echo.proto']);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxMessageBytes,
    'grpc.max_send_message_length': opts.maxMessageBytes,
    'grpc.max_concurrent_streams': opts.maxStreams ?? 16,
    'grpc.max_connection_idle_ms': opts.idleMs ?? 120_000,
    interceptors: opts.tokenMatches ? [requireToken(opts.tokenMatches)] : [],
  });
  countGrpcConnections(server);
  const wire = new StrictWire(pkg);
  server.addService(...strictService(serviceDefinition(pkg, 'rtbench.image.v1.ImageService'), imageService, wire));
  server.addService(
    ...strictService(serviceDefinition(pkg, 'rtbench.orders.v1.OrderService'), orderService(opts), wire),
  );
  server.addService(...strictService(serviceDefinition(pkg, 'rtbench.echo.v1.EchoService'), echoService, wire));
  new ReflectionService(pkg).addToServer(server);
  const port = await bind(server, opts.host, opts.port);
  guardHandshakes(server, opts.handshakeMs ?? 10_000);
  return { port, stop: () => shutdown(server) };
}
