// Image transfer over gRPC (ImageService/Upload, one unary call per image carrying {id, data, size,
// sha256}): the image workload (scripts/lib/workload/image.ts) on one HTTP/2 connection per iteration.
// Modes: MODE=sequential (invoke, await, next) or concurrent (every call in flight, multiplexed).
// CLIENT=k6 (k6/net/grpc, JSON + base64 in the script): latency (measure=rtt) call start → the response in
// the script. CLIENT=raw (k6/x/measure: protobuf bytes on grpc-go): each call timed in Go. Tag client=k6|raw.
//   k6 run -e IMAGES=50 -e MODE=concurrent dist/grpc-image.js
import { b64encode } from 'k6/encoding';
import { now } from './lib/monitor/clock.ts';
import { scenarioOptions } from './lib/load/options.ts';
import { GRPC_ADDR } from './lib/transport/addresses.ts';
import { connect, grpcClient, okResponse } from './lib/transport/grpc.ts';
import { rawBatch, rawMethod, rawOk } from './lib/transport/grpc-raw.ts';
import { envChoice } from './lib/load/env.ts';
import { IMAGE, ImageBatch, claim, imageScenario, images, type ImageAck } from './lib/workload/image.ts';
import { grpcAuth } from './lib/transport/auth.ts';
export { monitor } from './lib/monitor/monitor.ts';

const CLIENT = envChoice('CLIENT', 'k6', ['k6', 'raw'] as const);
const scenario = imageScenario('grpc');
export const options = scenarioOptions('grpc-image', { ...scenario, tags: { ...scenario.tags, client: CLIENT } });

const UPLOAD = 'rtbench.image.v1.ImageService/Upload';
// k6 carries protobuf `bytes` fields as base64 strings: encode once, at init.
const IMAGE_B64 = b64encode(IMAGE);
const client = grpcClient('image.proto');

const request = (id: number) => ({ ...claim(id), data: IMAGE_B64 });

export default async function () {
  if (CLIENT === 'raw') return raw();
  connect(client, GRPC_ADDR);
  const batch = new ImageBatch();
  const params = { timeout: `${images.timeoutMs}ms`, ...grpcAuth() };

  if (images.mode === 'sequential') {
    for (let id = 1; id <= batch.count; id++) {
      batch.sent(id, now());
      const res = client.invoke(UPLOAD, request(id), params);
      if (!okResponse(res)) break;
      batch.acknowledged(res.message as ImageAck, now());
    }
  } else {
    const calls = [];
    for (let id = 1; id <= batch.count; id++) {
      batch.sent(id, now());
      calls.push(
        client.asyncInvoke(UPLOAD, request(id), params).then((res) => {
          if (okResponse(res)) batch.acknowledged(res.message as ImageAck, now());
        }),
      );
    }
    await Promise.all(calls);
  }
  batch.finish(now());
  client.close();
}

// CLIENT=raw: the request in two parts sent joined, {id} per call and {data, size, sha256} encoded once.
const UPLOAD_RAW = rawMethod(UPLOAD);
const { size, sha256 } = claim(0);
const IMAGE_PART = CLIENT === 'raw' ? UPLOAD_RAW.encode({ data: new Uint8Array(IMAGE), size, sha256 }) : null;

async function raw() {
  const batch = new ImageBatch();
  await rawBatch(GRPC_ADDR, UPLOAD_RAW, {
    count: batch.count,
    concurrent: images.mode === 'concurrent',
    timeoutMs: images.timeoutMs,
    payload: (id) => [UPLOAD_RAW.encode({ id }), IMAGE_PART!],
    onResponse: (id, res) => {
      batch.sent(id, res.startMs);
      if (rawOk(res)) batch.acknowledged(UPLOAD_RAW.decode(res.message) as unknown as ImageAck, res.endMs);
      return res.status === 0;
    },
  });
  batch.finish(now());
}
