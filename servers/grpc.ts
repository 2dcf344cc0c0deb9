// gRPC services (@grpc/grpc-js) with server reflection, so grpcurl and ghz work without our files.
//
// rtbench.image.v1.ImageService/Upload — seed 000's image transfer: the server hashes the bytes
//   and acknowledges with what it saw. Invalid protobuf or a malformed claim → INVALID_ARGUMENT;
//   a message over the maximum size → RESOURCE_EXHAUSTED (from grpc-js's receive limit).
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { bind, loadProtos, RpcError, serviceDefinition, shutdown, strictService } from './lib/grpc.ts';
import { claimProblem, verifyImage } from './lib/image.ts';
import { statsFor } from './lib/stats.ts';
import { nowMs } from './lib/clock.ts';

export interface GrpcOptions {
  host: string;
  port: number;
  maxMessageBytes: number;
}

const stats = statsFor('grpc');

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
    stats.received(req.data.length);
    const problem = claimProblem(req);
    if (problem) throw new RpcError(grpc.status.INVALID_ARGUMENT, problem);
    const ack = verifyImage(req, req.data, receivedAt);
    stats.messagesOut++; // response bytes are not visible to a grpc-js handler
    callback(null, ack);
  },
};

export async function startGrpc(opts: GrpcOptions): Promise<{ port: number; stop: () => Promise<void> }> {
  const pkg = loadProtos(['image.proto']);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxMessageBytes,
    'grpc.max_send_message_length': opts.maxMessageBytes,
  });
  server.addService(...strictService(serviceDefinition(pkg, 'rtbench.image.v1.ImageService'), imageService));
  new ReflectionService(pkg).addToServer(server);
  const port = await bind(server, opts.host, opts.port);
  return { port, stop: () => shutdown(server) };
}
