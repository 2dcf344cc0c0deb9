// Image transfer over gRPC (seed 000): rtbench.image.v1.ImageService/Upload, one unary call per
// image carrying {id, data, size, sha256}; the server acknowledges each image with what it
// received. Each iteration opens one connection (HTTP/2) and closes it at the end.
//   MODE=sequential  one call at a time (invoke, await, next)
//   MODE=concurrent  every call in flight at once (asyncInvoke), multiplexed on one connection
// Per-image latency: call start → the response reaching the script (k6's own
// grpc_req_duration, measured in Go per call, is reported beside it).
//   k6 run -e IMAGES=50 -e MODE=concurrent dist/grpc-image.js
import { b64encode } from 'k6/encoding';
import { scenarioOptions } from './lib/load/options.ts';
import { envString } from './lib/load/env.ts';
import { IMAGE, ImageBatch, claim, imageScenario, images, type ImageAck } from './lib/workload/image.ts';
import { connect, grpcClient, okResponse } from './lib/transport/grpc.ts';

export const options = scenarioOptions('grpc-image', imageScenario('grpc'));

const GRPC_ADDR = envString('GRPC_ADDR', '127.0.0.1:50051');
const UPLOAD = 'rtbench.image.v1.ImageService/Upload';
// k6 carries protobuf `bytes` fields as base64 strings: encode once, at init.
const IMAGE_B64 = b64encode(IMAGE);
const client = grpcClient('image.proto');

const request = (id: number) => ({ ...claim(id), data: IMAGE_B64 });

export default async function () {
  connect(client, GRPC_ADDR);
  const batch = new ImageBatch();
  const params = { timeout: `${images.timeoutMs}ms` };

  if (images.mode === 'sequential') {
    for (let id = 1; id <= batch.count; id++) {
      batch.sent(id, Date.now());
      const res = client.invoke(UPLOAD, request(id), params);
      if (!okResponse(res)) break;
      batch.acknowledged(res.message as ImageAck, Date.now());
    }
  } else {
    const calls = [];
    for (let id = 1; id <= batch.count; id++) {
      batch.sent(id, Date.now());
      calls.push(
        client.asyncInvoke(UPLOAD, request(id), params).then((res) => {
          if (okResponse(res)) batch.acknowledged(res.message as ImageAck, Date.now());
        }),
      );
    }
    await Promise.all(calls);
  }
  batch.finish(Date.now());
  client.close();
}
