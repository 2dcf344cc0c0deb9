// Image transfer over WebSocket (seed 000). Each iteration opens one WebSocket and sends
// IMAGES copies of a ~533 KB PNG, each as a JSON claim {id, size, sha256} followed by one binary
// frame; the server acknowledges each image with what it received.
//   MODE=sequential  send an image, wait for its ack, send the next
//   MODE=concurrent  pipeline every image at once; acks come back in order
// Per-image latency: send() → the ack's message-event timestamp (when k6 read the frame). Sends
// happen inside an event handler (open, or the previous ack); the send time is the later of
// Date.now() (whole ms, rounded down) and that event's sub-ms timestamp, the tighter lower bound.
//   k6 run -e IMAGES=50 -e MODE=concurrent dist/ws-image.js
import { check } from 'k6';
import type { WebSocket } from 'k6/websockets';
import { scenarioOptions } from './lib/load/options.ts';
import { envString } from './lib/load/env.ts';
import { IMAGE, ImageBatch, claim, imageScenario, images, type ImageAck } from './lib/workload/image.ts';
import { deadline, on, openSocket } from './lib/transport/ws.ts';

export const options = scenarioOptions('ws-image', imageScenario('ws'));

const WS_URL = envString('WS_URL', 'ws://127.0.0.1:8080');

export default function () {
  const batch = new ImageBatch();
  let nextId = 1;

  const sendImage = (ws: WebSocket, eventAt: number) => {
    const id = nextId++;
    ws.send(JSON.stringify(claim(id)));
    ws.send(IMAGE);
    batch.sent(id, Math.max(Date.now(), eventAt));
  };

  const { ws, onClosed } = openSocket(`${WS_URL}/image`, (ws, openedAt) => {
    if (images.mode === 'concurrent') while (nextId <= batch.count) sendImage(ws, openedAt);
    else sendImage(ws, openedAt);
  });

  let expectedId = 1;
  on(ws, 'message', (e) => {
    const ack = JSON.parse(e.data as string) as ImageAck;
    check(ack, { 'acks arrive in order': (a) => a.id === expectedId++ });
    const last = batch.acknowledged(ack, e.timestamp);
    if (last) ws.close();
    else if (images.mode === 'sequential') sendImage(ws, e.timestamp);
  });

  const cancel = deadline(images.timeoutMs, () => {
    batch.finish(Date.now(), 'timeout');
    ws.close();
  });
  onClosed((code, reason, at) => {
    cancel();
    batch.finish(at, code === 1000 || code === 1005 ? 'closed early' : `ws close ${code}: ${reason}`.slice(0, 120));
  });
}
