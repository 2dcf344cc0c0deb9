// rtbench.echo.v1.EchoService (seed 002 over gRPC): the counterpart of the WebSocket and
// Socket.IO echo endpoints. Every message comes back exactly as sent (seq, payload,
// client_send_ms), so round trips are comparable byte for byte across protocols.
//   Echo        unary: one message, the same message back
//   EchoStream  bidi: every message written comes back, in order, on the same stream
import type * as grpc from '@grpc/grpc-js';
import { replyEach } from './lib/grpc.ts';

export const echoService: grpc.UntypedServiceImplementation = {
  Echo(call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
    callback(null, call.request);
  },
  EchoStream(call: grpc.ServerDuplexStream<unknown, unknown>) {
    replyEach(call, (message) => message);
  },
};
