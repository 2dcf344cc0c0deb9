// A call made straight to a gRPC server with a generic @grpc/grpc-js client, protobuf bytes in
// and out: what the bridge's answers are compared with.
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { root, type Servers } from './helpers.ts';

const pkg = protoLoader.loadSync(['orders.proto', 'echo.proto'], {
  includeDirs: [join(root, 'proto')],
  longs: Number,
  enums: String,
  defaults: true,
});
/** The order and echo services' method definitions (paths, streaming kinds) from proto/. */
export const ORDERS = pkg['rtbench.orders.v1.OrderService'] as protoLoader.ServiceDefinition;
export const ECHO = pkg['rtbench.echo.v1.EchoService'] as protoLoader.ServiceDefinition;

/** The same call made directly with a generic @grpc/grpc-js client, protobuf bytes in and out. */
export function direct(
  s: Servers,
  def: protoLoader.MethodDefinition<object, object>,
  requests: Buffer[],
): Promise<{ responses: Buffer[]; status: grpc.StatusObject }> {
  const client = new grpc.Client(s.grpcAddr, grpc.credentials.createInsecure());
  const same = (b: Buffer) => b;
  const responses: Buffer[] = [];
  return new Promise((resolve) => {
    const answer = (_err: grpc.ServiceError | null, value?: Buffer) => {
      if (value) responses.push(value);
    };
    let call:
      | grpc.ClientUnaryCall
      | grpc.ClientWritableStream<Buffer>
      | grpc.ClientReadableStream<Buffer>
      | grpc.ClientDuplexStream<Buffer, Buffer>;
    if (!def.requestStream && !def.responseStream)
      call = client.makeUnaryRequest(def.path, same, same, requests[0]!, answer);
    else if (!def.responseStream) call = client.makeClientStreamRequest(def.path, same, same, answer);
    else if (!def.requestStream) call = client.makeServerStreamRequest(def.path, same, same, requests[0]!);
    else call = client.makeBidiStreamRequest(def.path, same, same);
    if (def.responseStream) {
      (call as grpc.ClientReadableStream<Buffer>).on('data', (m: Buffer) => responses.push(m));
      (call as grpc.ClientReadableStream<Buffer>).on('error', () => {});
    }
    if (def.requestStream) {
      for (const r of requests) (call as grpc.ClientWritableStream<Buffer>).write(r);
      (call as grpc.ClientWritableStream<Buffer>).end();
    }
    call.on('status', (status: grpc.StatusObject) =>
      setImmediate(() => {
        client.close();
        resolve({ responses, status });
      }),
    );
  });
}
