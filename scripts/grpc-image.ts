// Image transfer over gRPC (ImageService/Upload, one unary call per image carrying {id, data, size,
// sha256}): the image workload (scripts/lib/workload/image.ts) on one HTTP/2 connection per iteration.
// Modes: MODE=sequential (invoke, await, next) or concurrent (every call in flight, multiplexed).
// Latency (measure=rtt): call start → the response reaching the script (k6's grpc_req_duration beside it).
// The `monitor` export is the server-cost scenario that runs beside it.
//   k6 run -e IMAGES=50 -e MODE=concurrent dist/grpc-image.js
import { b64encode } from 'k6/encoding';
import { scenarioOptions } from './lib/load/options.ts';
import { GRPC_ADDR } from './lib/transport/addresses.ts';
import { connect, grpcClient, okResponse } from './lib/transport/grpc.ts';
import { IMAGE, ImageBatch, claim, imageScenario, images, type ImageAck } from './lib/workload/image.ts';
import { grpcAuth } from './lib/transport/auth.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('grpc-image', imageScenario('grpc'));

const UPLOAD = 'rtbench.image.v1.ImageService/Upload';
// k6 carries protobuf `bytes` fields as base64 strings: encode once, at init.
const IMAGE_B64 = b64encode(IMAGE);
const client = grpcClient('image.proto');

const request = (id: number) => ({ ...claim(id), data: IMAGE_B64 });

export default async function () {
  connect(client, GRPC_ADDR);
  const batch = new ImageBatch();
  const params = { timeout: `${images.timeoutMs}ms`, ...grpcAuth() };

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
