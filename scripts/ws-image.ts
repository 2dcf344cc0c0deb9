// Image transfer over WebSocket (/image): the image workload (scripts/lib/workload/image.ts), IMAGES
// copies of a ~533 KB PNG per iteration, each a JSON claim then one binary frame, each acknowledged.
// Modes: MODE=sequential (send, await the ack, send the next) or concurrent (all at once; acks in order).
// Latency (measure=rtt): send → the ack's message-event `timestamp`; send time as in the echo workload.
// The `monitor` export is the server-cost scenario that runs beside it.
//   k6 run -e IMAGES=50 -e MODE=concurrent dist/ws-image.js
import { check } from 'k6';
import type { WebSocket } from 'k6/x/ws';
import { now } from './lib/monitor/clock.ts';
import { isNormalClose } from '../contracts/close-codes.ts';
import { scenarioOptions } from './lib/load/options.ts';
import { WS_URL } from './lib/transport/addresses.ts';
import { deadline, openSocket } from './lib/transport/ws.ts';
import { IMAGE, ImageBatch, claim, imageScenario, images, type ImageAck } from './lib/workload/image.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('ws-image', imageScenario('ws'));

export default function () {
  const batch = new ImageBatch();
  let nextId = 1;

  const sendImage = (ws: WebSocket, eventAt: number) => {
    const id = nextId++;
    batch.sent(id, Math.max(now(), eventAt));
    ws.send(JSON.stringify(claim(id)));
    ws.send(IMAGE);
  };

  const { ws, onClosed } = openSocket(`${WS_URL}/image`, (ws, openedAt) => {
    if (images.mode === 'concurrent') while (nextId <= batch.count) sendImage(ws, openedAt);
    else sendImage(ws, openedAt);
  });

  let expectedId = 1;
  ws.addEventListener('message', (e) => {
    const ack = JSON.parse(e.data as string) as ImageAck;
    check(ack, { 'acks arrive in order': (a) => a.id === expectedId++ });
    const last = batch.acknowledged(ack, e.timestamp);
    if (last) ws.close();
    else if (images.mode === 'sequential') sendImage(ws, e.timestamp);
  });

  const cancel = deadline(images.timeoutMs, () => {
    batch.finish(now(), 'timeout');
    ws.close();
  });
  onClosed((code, reason, at) => {
    cancel();
    batch.finish(at, isNormalClose(code) ? 'closed early' : `ws close ${code}: ${reason}`.slice(0, 120));
  });
}
