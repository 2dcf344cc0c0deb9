// Server push over Socket.IO: the feed workload (scripts/lib/workload/feed.ts), this VU's channel for
// WINDOW at MSG_RATE messages/s, as `feed` events (our client over k6/x/ws). Modes: normal, fanout,
// drop (as ws-feed); after a drop the client resumes through Socket.IO's connection state recovery, or
// else subscribes again after its last sequence (rtb_resumes{via}). Latency (measure=oneway): server
// stamp → the frame's `timestamp`, one host's clock. `monitor` is the server-cost scenario beside it.
//   k6 run -e MODE=drop dist/socketio-feed.js
import { scenarioOptions } from './lib/load/options.ts';
import { SOCKETIO_URL } from './lib/transport/addresses.ts';
import { subscribeSocketIo } from './lib/transport/socketio.ts';
import { feedScenario, feedWindow, httpOrigin } from './lib/workload/feed.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('socketio-feed', feedScenario('socketio'));

export default function () {
  feedWindow(httpOrigin(SOCKETIO_URL), 'socketio', (channel, sub) => subscribeSocketIo(SOCKETIO_URL, channel, sub));
}
